#include "appliance/cms/decryptor.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "appliance/cms/cms_reader.h"
#include "appliance/cms/decryption_algorithms.h"
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

// `owned`: where `mail` lies when the caller gave it away (else null),
// freed once it is decoded.
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

  absl::StatusOr<std::string> der = CmsBytesOf(*entity);
  if (!der.ok()) return Undecryptable();
  // What is needed of the mail itself, before it may go.
  const std::string outer_headers = OuterHeaders(*entity);
  if (owned != nullptr) {
    // `entity` and `type` point into it: neither is used past here.
    std::string().swap(*owned);
    mail = {};
  }
  absl::StatusOr<CmsPtr> cms = ParseCms(context, *der);
  if (!cms.ok()) return Undecryptable();
  const int cms_type = OBJ_obj2nid(CMS_get0_type(cms->get()));
  if (cms_type != NID_pkcs7_enveloped && cms_type != NID_id_smime_ct_authEnvelopedData) {
    return Undecryptable();
  }
  // Before the key is used, so a mail Signet cannot read is not reported as
  // one that failed to decrypt.
  RETURN_IF_ERROR(CheckDecryptionAlgorithms(context, cms->get(), *der, recipient.certificate));

  // The parsed structure holds the ciphertext now: its encoding can go
  // before the plaintext is made, so a large mail is not held in every form
  // at once. The plaintext is no longer than it.
  const size_t plaintext_bound = der->size();
  std::string().swap(*der);

  // Decrypted straight into the mail, after its outer header fields; a
  // partly decrypted message left by a failure is wiped (string_sink_bio.h).
  DecryptedMail decrypted;
  ReserveLarge(&decrypted.mail, outer_headers.size() + 32 + plaintext_bound);
  AppendMailHead(outer_headers, &decrypted.mail);
  decrypted.entity_offset = decrypted.mail.size();
  BioPtr out = NewStringSinkBio(&decrypted.mail);
  if (!out) return absl::ResourceExhaustedError("cannot allocate a buffer");
  if (CMS_decrypt(cms->get(), recipient.key, recipient.certificate, nullptr, out.get(),
                  CMS_BINARY) != 1) {
    WipeString(&decrypted.mail);
    if (std::optional<absl::Status> token = TokenFailure("decryption");
        token.has_value() && IsTokenState(*token)) {
      return *token;
    }
    return Undecryptable();
  }
  cms->reset();
  if (!CheckMimeStructure(decrypted.entity(), context.limits).ok()) {
    WipeString(&decrypted.mail);
    return Undecryptable();
  }
  decrypted.authenticated = cms_type == NID_id_smime_ct_authEnvelopedData;
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
