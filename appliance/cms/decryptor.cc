#include "appliance/cms/decryptor.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include <cstring>
#include <limits>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "appliance/cms/cms_reader.h"
#include "appliance/cms/decryption_algorithms.h"
#include "appliance/cms/detached_ciphertext.h"
#include "appliance/cms/in_place_sink_bio.h"
#include "appliance/cms/mail_parts.h"
#include "appliance/cms/mime.h"
#include "appliance/cms/operation_error.h"
#include "appliance/cms/string_sink_bio.h"
#include "common/huge_pages.h"
#include "common/status_macros.h"

namespace signet::cms {
namespace {

absl::Status Undecryptable() {
  ERR_clear_error();
  return absl::InvalidArgumentError(kDecryptionFailed);
}

// Token states a caller must hear about as such: they say nothing about the
// ciphertext, and the caller's next step differs (retry, call an operator).
bool IsTokenState(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kCancelled:
      return true;
    default:
      return false;
  }
}

// What a failed CMS_decrypt tells the caller: the token's state where the
// token failed, else only that the mail could not be decrypted.
absl::Status DecryptionFailed() {
  if (std::optional<absl::Status> token = TokenFailure("decryption");
      token.has_value() && IsTokenState(*token)) {
    return *token;
  }
  return Undecryptable();
}

std::string OuterHeaders(const MimeEntity& entity) {
  std::string headers;
  for (const HeaderField& field : entity.headers) {
    if (absl::StartsWithIgnoreCase(field.name, "Content-") ||
        absl::EqualsIgnoreCase(field.name, "MIME-Version")) {
      continue;
    }
    absl::StrAppend(&headers, field.raw);
  }
  return ToCrlf(headers);
}

// The decrypted mail at the front of `buffer`, whose DER at `der_offset`
// holds the ciphertext at detached.offset: decrypted where it lies. The
// plaintext is written after the mail's head, which is no further than the
// ciphertext's start (checked by the caller), so each write lands on
// ciphertext already read (in_place_sink_bio.h); then the head goes before
// it. The buffer is the result: a large mail is held once.
absl::StatusOr<DecryptedMail> DecryptInPlace(CMS_ContentInfo* cms, const Recipient& recipient,
                                             const std::string& head, size_t der_offset,
                                             const DetachedCiphertext& detached,
                                             std::string buffer) {
  char* const ciphertext = buffer.data() + der_offset + detached.offset;
  BioPtr source(BIO_new_mem_buf(ciphertext, static_cast<int>(detached.size)));
  InPlaceSink sink{.out = buffer.data() + head.size(),
                   .source_begin = ciphertext,
                   .source_size = detached.size,
                   .source = source.get()};
  BioPtr out = NewInPlaceSinkBio(&sink);
  if (!source || !out) return absl::ResourceExhaustedError("cannot allocate a buffer");
  if (CMS_decrypt(cms, recipient.key, recipient.certificate, source.get(), out.get(), CMS_BINARY) !=
      1) {
    // A partly decrypted message lies in the buffer.
    WipeString(&buffer);
    if (sink.overtook) {
      // Depends on the cipher, never on the ciphertext: no oracle.
      ERR_clear_error();
      return absl::InternalError("the decryption would have overwritten ciphertext not yet read");
    }
    return DecryptionFailed();
  }
  std::memcpy(buffer.data(), head.data(), head.size());
  buffer.resize(head.size() + sink.written);
  DecryptedMail decrypted;
  decrypted.mail = std::move(buffer);
  decrypted.entity_offset = head.size();
  return decrypted;
}

// For what DetachCiphertext leaves (BER from streaming senders): OpenSSL
// parses the whole structure, ciphertext included, and the plaintext goes
// into a string of its own.
absl::StatusOr<DecryptedMail> DecryptParsed(CMS_ContentInfo* cms, const Recipient& recipient,
                                            const std::string& head, size_t plaintext_bound) {
  // Decrypted straight into the mail, after its outer header fields; a
  // partly decrypted message left by a failure is wiped (string_sink_bio.h).
  DecryptedMail decrypted;
  ReserveLarge(&decrypted.mail, head.size() + plaintext_bound);
  decrypted.mail.append(head);
  decrypted.entity_offset = decrypted.mail.size();
  BioPtr out = NewStringSinkBio(&decrypted.mail);
  if (!out) return absl::ResourceExhaustedError("cannot allocate a buffer");
  if (CMS_decrypt(cms, recipient.key, recipient.certificate, nullptr, out.get(), CMS_BINARY) != 1) {
    WipeString(&decrypted.mail);
    return DecryptionFailed();
  }
  return decrypted;
}

// `owned`: where `mail` lies when the caller gave it away (else null); its
// base64 is decoded where it lies, and the mail decrypted there.
absl::StatusOr<DecryptedMail> Decrypt(const CmsContext& context, absl::string_view mail,
                                      std::string* owned, const Recipient& recipient) {
  if (recipient.key == nullptr || recipient.certificate == nullptr) {
    return absl::InvalidArgumentError("decryption needs a key and its certificate");
  }
  RETURN_IF_ERROR(CheckMessageSize(mail, context.limits));
  absl::StatusOr<MimeEntity> entity = ParseEntity(mail, context.limits);
  if (!entity.ok()) return Undecryptable();
  absl::StatusOr<ContentType> type = ContentTypeOf(*entity);
  if (!type.ok()) return Undecryptable();
  const std::optional<std::string> smime_type = type->Param("smime-type");
  if (!IsPkcs7Mime(*type) ||
      (smime_type.has_value() && absl::EqualsIgnoreCase(*smime_type, "signed-data"))) {
    return absl::InvalidArgumentError("not an encrypted S/MIME mail");
  }
  BeginOperation();
  if (X509_check_private_key(recipient.certificate, recipient.key) != 1) {
    ERR_clear_error();
    return absl::FailedPreconditionError("the recipient certificate is not for the key");
  }

  // The decrypted mail begins with the outer header fields and
  // MIME-Version, the entity follows.
  std::string head;
  AppendMailHead(OuterHeaders(*entity), &head);
  // The DER, in a buffer the decryption may overwrite: the owned mail,
  // decoded where its body lies (which is past its header block), or a
  // buffer with room for the head before it.
  std::string buffer;
  size_t der_offset = 0;
  absl::StatusOr<size_t> der_size;
  const bool in_owned = owned != nullptr && !entity->body.empty() &&
                        entity->body.data() >= owned->data() &&
                        entity->body.data() + entity->body.size() <= owned->data() + owned->size();
  if (in_owned) {
    der_offset = static_cast<size_t>(entity->body.data() - owned->data());
    der_size = CmsBytesInto(*entity, owned->data() + der_offset);
    buffer = std::move(*owned);
  } else {
    der_offset = head.size();
    const size_t bound = CmsBytesBound(*entity);
    ReserveLarge(&buffer, der_offset + bound);
    buffer.resize(der_offset + bound);
    der_size = CmsBytesInto(*entity, buffer.data() + der_offset);
    if (der_size.ok()) buffer.resize(der_offset + *der_size);
  }
  // `entity`, `type` and `mail` point into the mail, decoded over now.
  mail = {};
  if (!der_size.ok()) return Undecryptable();
  const absl::string_view der(buffer.data() + der_offset, *der_size);

  std::optional<DetachedCiphertext> detached = DetachCiphertext(der);
  if (detached.has_value() &&
      (head.size() > der_offset + detached->offset ||
       detached->size > static_cast<size_t>(std::numeric_limits<int>::max()))) {
    detached.reset();
  }
  const absl::string_view structure = detached.has_value() ? detached->structure : der;
  absl::StatusOr<CmsPtr> cms = ParseCms(context, structure);
  if (!cms.ok()) return Undecryptable();
  const int cms_type = OBJ_obj2nid(CMS_get0_type(cms->get()));
  if (cms_type != NID_pkcs7_enveloped && cms_type != NID_id_smime_ct_authEnvelopedData) {
    return Undecryptable();
  }
  // Before the key is used, so a mail Signet cannot read is not reported as
  // one that failed to decrypt.
  RETURN_IF_ERROR(CheckDecryptionAlgorithms(context, cms->get(), structure, recipient.certificate));

  absl::StatusOr<DecryptedMail> decrypted;
  if (detached.has_value()) {
    decrypted =
        DecryptInPlace(cms->get(), recipient, head, der_offset, *detached, std::move(buffer));
  } else {
    // The parsed structure holds the ciphertext now: its encoding can go
    // before the plaintext is made, so a large mail is not held in every
    // form at once. The plaintext is no longer than it.
    const size_t plaintext_bound = der.size();
    std::string().swap(buffer);
    decrypted = DecryptParsed(cms->get(), recipient, head, plaintext_bound);
  }
  cms->reset();
  if (!decrypted.ok()) return decrypted.status();
  if (!CheckMimeStructure(decrypted->entity(), context.limits).ok()) {
    WipeString(&decrypted->mail);
    return Undecryptable();
  }
  decrypted->authenticated = cms_type == NID_id_smime_ct_authEnvelopedData;
  return decrypted;
}

}  // namespace

absl::StatusOr<DecryptedMail> DecryptMail(const CmsContext& context, absl::string_view mail,
                                          const Recipient& recipient) {
  return Decrypt(context, mail, nullptr, recipient);
}

absl::StatusOr<DecryptedMail> DecryptOwnedMail(const CmsContext& context, std::string mail,
                                               const Recipient& recipient) {
  return Decrypt(context, mail, &mail, recipient);
}

}  // namespace signet::cms
