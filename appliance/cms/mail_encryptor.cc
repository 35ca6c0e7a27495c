#include "appliance/cms/mail_encryptor.h"

#include "appliance/cms/mail_parts.h"
#include "appliance/cms/smime_format.h"
#include "common/status_macros.h"

namespace signet::cms {
namespace {

absl::StatusOr<std::string> EncryptEntity(const CmsContext& context, absl::string_view entity,
                                          const std::vector<X509*>& recipients,
                                          const EncryptOptions& options) {
  ASSIGN_OR_RETURN(std::string der, Encrypt(context, entity, recipients, options));
  return Pkcs7MimeEntity(der, IsAuthenticated(options.cipher) ? SmimeType::kAuthEnvelopedData
                                                              : SmimeType::kEnvelopedData);
}

}  // namespace

absl::StatusOr<std::string> EncryptMail(const CmsContext& context, absl::string_view mail,
                                        const std::vector<X509*>& recipients,
                                        const EncryptOptions& options) {
  ASSIGN_OR_RETURN(MailParts parts, SplitMail(mail, context.limits));
  ASSIGN_OR_RETURN(std::string encrypted,
                   EncryptEntity(context, parts.entity, recipients, options));
  return JoinMail(parts.outer_headers, encrypted);
}

absl::StatusOr<std::string> SignAndEncryptMail(const CmsContext& context, absl::string_view mail,
                                               const Signer& signer,
                                               const MailSignOptions& sign_options,
                                               const std::vector<X509*>& recipients,
                                               const EncryptOptions& encrypt_options) {
  ASSIGN_OR_RETURN(MailParts parts, SplitMail(mail, context.limits));
  ASSIGN_OR_RETURN(std::string signed_entity,
                   SignEntity(context, parts.entity, signer, sign_options));
  ASSIGN_OR_RETURN(std::string encrypted,
                   EncryptEntity(context, signed_entity, recipients, encrypt_options));
  return JoinMail(parts.outer_headers, encrypted);
}

}  // namespace signet::cms
