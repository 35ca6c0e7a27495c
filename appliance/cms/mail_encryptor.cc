#include "appliance/cms/mail_encryptor.h"

#include <utility>

#include "appliance/cms/mail_parts.h"
#include "appliance/cms/mime.h"
#include "appliance/cms/smime_format.h"
#include "common/huge_pages.h"
#include "common/status_macros.h"

namespace signet::cms {
namespace {

// The encrypted mail: the outer header fields and the application/pkcs7-mime
// entity, written in one buffer.
std::string EncryptedMail(absl::string_view outer_headers, absl::string_view der,
                          const EncryptOptions& options) {
  std::string out;
  ReserveLarge(&out, outer_headers.size() + Base64EncodedSize(der.size()) + 512);
  AppendMailHead(outer_headers, &out);
  AppendPkcs7MimeEntity(
      der,
      IsAuthenticated(options.cipher) ? SmimeType::kAuthEnvelopedData : SmimeType::kEnvelopedData,
      &out);
  return out;
}

}  // namespace

absl::StatusOr<std::string> EncryptMail(const CmsContext& context, absl::string_view mail,
                                        const std::vector<X509*>& recipients,
                                        const EncryptOptions& options) {
  ASSIGN_OR_RETURN(MailParts parts, SplitMail(mail, context.limits));
  ASSIGN_OR_RETURN(std::string der, Encrypt(context, std::move(parts.entity), recipients, options));
  return EncryptedMail(parts.outer_headers, der, options);
}

absl::StatusOr<std::string> EncryptOwnedMail(const CmsContext& context, std::string mail,
                                             const std::vector<X509*>& recipients,
                                             const EncryptOptions& options) {
  ASSIGN_OR_RETURN(MailParts parts, SplitMail(mail, context.limits));
  std::string().swap(mail);
  ASSIGN_OR_RETURN(std::string der, Encrypt(context, std::move(parts.entity), recipients, options));
  return EncryptedMail(parts.outer_headers, der, options);
}

absl::StatusOr<std::string> SignAndEncryptMail(const CmsContext& context, absl::string_view mail,
                                               const Signer& signer,
                                               const MailSignOptions& sign_options,
                                               const std::vector<X509*>& recipients,
                                               const EncryptOptions& encrypt_options) {
  ASSIGN_OR_RETURN(MailParts parts, SplitMail(mail, context.limits));
  ASSIGN_OR_RETURN(std::string signed_entity,
                   SignEntity(context, parts.entity, signer, sign_options));
  std::string().swap(parts.entity);
  ASSIGN_OR_RETURN(std::string der,
                   Encrypt(context, std::move(signed_entity), recipients, encrypt_options));
  return EncryptedMail(parts.outer_headers, der, encrypt_options);
}

}  // namespace signet::cms
