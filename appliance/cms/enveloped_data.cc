#include "appliance/cms/enveloped_data.h"

#include <openssl/cms.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <utility>

#include "absl/strings/str_cat.h"
#include "appliance/cms/cms_content.h"
#include "appliance/cms/envelope_splice.h"
#include "appliance/cms/operation_error.h"
#include "appliance/cms/sink_bio.h"
#include "common/der.h"
#include "common/huge_pages.h"
#include "common/ossl_ptr.h"
#include "common/status_macros.h"

namespace signet::cms {
namespace {

const char* CipherName(ContentCipher cipher) {
  switch (cipher) {
    case ContentCipher::kAes128Gcm:
      return "AES-128-GCM";
    case ContentCipher::kAes256Cbc:
      return "AES-256-CBC";
    case ContentCipher::kAes128Cbc:
      return "AES-128-CBC";
    case ContentCipher::kAes256Gcm:
      break;
  }
  return "AES-256-GCM";
}

std::string SubjectOf(X509* certificate) {
  char text[256];
  X509_NAME_oneline(X509_get_subject_name(certificate), text, sizeof(text));
  return text;
}

// Whether the recipient may receive this mail with this key at all.
absl::Status CheckRecipient(X509* certificate, const EncryptOptions& options) {
  const std::string who = absl::StrCat("recipient '", SubjectOf(certificate), "'");
  time_t at = absl::ToTimeT(options.at.value_or(absl::Now()));
  if (X509_cmp_time(X509_get0_notAfter(certificate), &at) < 0) {
    return absl::InvalidArgumentError(absl::StrCat(who, ": the certificate has expired"));
  }
  if (X509_cmp_time(X509_get0_notBefore(certificate), &at) > 0) {
    return absl::InvalidArgumentError(absl::StrCat(who, ": the certificate is not valid yet"));
  }
  if (std::optional<std::string> problem = RecipientKeyProblem(certificate); problem.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(who, ": ", *problem));
  }
  return absl::OkStatus();
}

absl::Status ConfigureRecipient(CMS_RecipientInfo* recipient, bool rsa,
                                const EncryptOptions& options) {
  EVP_PKEY_CTX* pctx = CMS_RecipientInfo_get0_pkey_ctx(recipient);
  if (pctx == nullptr) return OperationError("no key context for a recipient");
  if (!rsa) {
    // dhSinglePass-stdDH-sha256kdf-scheme rather than OpenSSL's SHA-1 default.
    if (EVP_PKEY_CTX_set_ecdh_kdf_md(pctx, EVP_sha256()) != 1) {
      return OperationError("cannot select the ECDH KDF");
    }
    return absl::OkStatus();
  }
  if (options.rsa_key_transport == RsaKeyTransport::kPkcs1) return absl::OkStatus();
  if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(pctx, EVP_sha256()) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1) {
    return OperationError("cannot select RSA-OAEP");
  }
  return absl::OkStatus();
}

}  // namespace

std::optional<std::string> RecipientKeyProblem(X509* certificate) {
  EVP_PKEY* key = X509_get0_pubkey(certificate);
  if (key == nullptr) return "the public key does not parse";
  const bool rsa = EVP_PKEY_is_a(key, "RSA");
  if (!rsa && !EVP_PKEY_is_a(key, "EC")) return "only RSA and EC keys can receive";
  // X509_get_key_usage reports all bits set when the extension is absent.
  const uint32_t usage = X509_get_key_usage(certificate);
  const uint32_t needed = rsa ? KU_KEY_ENCIPHERMENT : KU_KEY_AGREEMENT;
  if ((usage & needed) == 0) {
    return absl::StrCat("its keyUsage does not allow ", rsa ? "keyEncipherment" : "keyAgreement");
  }
  return std::nullopt;
}

bool IsAuthenticated(ContentCipher cipher) {
  return cipher == ContentCipher::kAes256Gcm || cipher == ContentCipher::kAes128Gcm;
}

namespace {

// The recipients checked, a structure (EnvelopedData, or AuthEnvelopedData
// for an AEAD cipher) to them with `flags`, its content not yet given.
absl::StatusOr<CmsPtr> StartEnvelope(const CmsContext& context,
                                     const std::vector<X509*>& recipients,
                                     const EncryptOptions& options, unsigned int flags) {
  if (recipients.empty()) return absl::InvalidArgumentError("no recipient to encrypt to");
  for (X509* recipient : recipients) {
    if (recipient == nullptr) return absl::InvalidArgumentError("a recipient is missing");
    RETURN_IF_ERROR(CheckRecipient(recipient, options));
  }
  BeginOperation();
  EvpCipherPtr cipher(EVP_CIPHER_fetch(context.libctx, CipherName(options.cipher), nullptr));
  if (!cipher) return OperationError(absl::StrCat("no ", CipherName(options.cipher), " cipher"));
  CmsPtr cms(CMS_encrypt_ex(nullptr, nullptr, cipher.get(), flags | CMS_BINARY | CMS_PARTIAL,
                            context.libctx, nullptr));
  if (!cms) return OperationError("cannot start an EnvelopedData");
  for (X509* recipient : recipients) {
    CMS_RecipientInfo* info = CMS_add1_recipient_cert(cms.get(), recipient, CMS_KEY_PARAM);
    if (info == nullptr) return OperationError("cannot add a recipient");
    const bool rsa = EVP_PKEY_is_a(X509_get0_pubkey(recipient), "RSA");
    RETURN_IF_ERROR(ConfigureRecipient(info, rsa, options));
  }
  return cms;
}

// `release`, when not null, holds `content` and is emptied once the content
// is encrypted.
absl::StatusOr<std::string> EncryptReleasing(const CmsContext& context, absl::string_view content,
                                             std::string* release,
                                             const std::vector<X509*>& recipients,
                                             const EncryptOptions& options) {
  ASSIGN_OR_RETURN(CmsPtr cms, StartEnvelope(context, recipients, options, 0));
  // The ciphertext is the content's size, plus at most a block of padding.
  if (!FinishWithContent(cms.get(), content, content.size() + 32)) {
    return OperationError("encryption failed");
  }
  if (release != nullptr) std::string().swap(*release);
  // As DerOf, in a buffer advised for huge pages before it is written: it
  // is the size of the mail.
  const int length = i2d_CMS_ContentInfo(cms.get(), nullptr);
  std::string der;
  if (length > 0) {
    ReserveLarge(&der, static_cast<size_t>(length));
    der.resize(static_cast<size_t>(length));
    auto* out = reinterpret_cast<unsigned char*>(der.data());
    if (i2d_CMS_ContentInfo(cms.get(), &out) != length) der.clear();
  }
  if (der.empty()) return OperationError("cannot encode the EnvelopedData");
  return der;
}

// Where EncryptInPlace's ciphertext goes, in order: the head's share into
// a string, the body's over the body, the rest (the tail's, CBC padding)
// into another string. Byte i of the ciphertext is written only after plaintext byte i
// was read (a cipher never gives out more than it was given, until the
// final block), so the body is overwritten only where it is encrypted
// already.
struct CiphertextSink {
  std::string* head;
  size_t head_size;
  char* body;
  size_t body_size;
  size_t body_done;
  std::string* tail;
};

int CiphertextWrite(BIO* bio, const char* data, size_t length, size_t* written) {
  auto* sink = static_cast<CiphertextSink*>(BIO_get_data(bio));
  size_t left = length;
  // OpenSSL is C: nothing may be thrown through it.
  try {
    const size_t to_head = std::min(left, sink->head_size - sink->head->size());
    sink->head->append(data, to_head);
    data += to_head;
    left -= to_head;
    const size_t to_body = std::min(left, sink->body_size - sink->body_done);
    if (to_body > 0) std::memcpy(sink->body + sink->body_done, data, to_body);
    sink->body_done += to_body;
    data += to_body;
    left -= to_body;
    sink->tail->append(data, left);
  } catch (const std::bad_alloc&) {
    return 0;
  }
  *written = length;
  return 1;
}

}  // namespace

absl::StatusOr<std::string> Encrypt(const CmsContext& context, absl::string_view content,
                                    const std::vector<X509*>& recipients,
                                    const EncryptOptions& options) {
  return EncryptReleasing(context, content, nullptr, recipients, options);
}

absl::StatusOr<std::string> Encrypt(const CmsContext& context, std::string&& content,
                                    const std::vector<X509*>& recipients,
                                    const EncryptOptions& options) {
  std::string owned = std::move(content);
  return EncryptReleasing(context, owned, &owned, recipients, options);
}

absl::StatusOr<EnvelopeAround> EncryptInPlace(const CmsContext& context, absl::string_view head,
                                              absl::Span<char> body, absl::string_view tail,
                                              const std::vector<X509*>& recipients,
                                              const EncryptOptions& options) {
  // Detached: OpenSSL encodes the structure without the ciphertext, which
  // is spliced in around it (envelope_splice.h) instead of copied into it.
  ASSIGN_OR_RETURN(CmsPtr cms, StartEnvelope(context, recipients, options, CMS_DETACHED));
  std::string head_ciphertext;
  std::string tail_ciphertext;
  head_ciphertext.reserve(head.size());
  CiphertextSink sink{.head = &head_ciphertext,
                      .head_size = head.size(),
                      .body = body.data(),
                      .body_size = body.size(),
                      .body_done = 0,
                      .tail = &tail_ciphertext};
  static const BIO_METHOD* const method =
      NewSinkMethod("signet ciphertext in place", CiphertextWrite);
  BioPtr bio = NewSinkBio(method, &sink);
  if (!bio) return OperationError("cannot make the ciphertext's BIO");
  tail_ciphertext.reserve(tail.size() + 32);
  const absl::string_view content[] = {head, absl::string_view(body.data(), body.size()), tail};
  if (!FinishWithContentInto(cms.get(), content, bio.get())) {
    return OperationError("encryption failed");
  }
  // Every cipher here gives at least as many bytes as it was given.
  if (head_ciphertext.size() != head.size() || sink.body_done != body.size() ||
      tail_ciphertext.size() < tail.size()) {
    return absl::InternalError("the ciphertext is shorter than the content");
  }
  const std::string detached = DerOf<CMS_ContentInfo, i2d_CMS_ContentInfo>(cms.get());
  if (detached.empty()) return OperationError("cannot encode the EnvelopedData");
  const size_t ciphertext_size = head.size() + body.size() + tail_ciphertext.size();
  ASSIGN_OR_RETURN(EnvelopeAround around, EnvelopeAroundCiphertext(detached, ciphertext_size));
  around.prefix.append(head_ciphertext);
  around.suffix.insert(0, tail_ciphertext);
  return around;
}

}  // namespace signet::cms
