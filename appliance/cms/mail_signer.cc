#include "appliance/cms/mail_signer.h"

#include "appliance/cms/mail_parts.h"
#include "appliance/cms/smime_format.h"
#include "common/status_macros.h"

namespace signet::cms {

absl::StatusOr<std::string> SignEntity(const CmsContext& context, absl::string_view entity,
                                       const Signer& signer, const MailSignOptions& options) {
  if (options.form == SignedForm::kOpaque) {
    ASSIGN_OR_RETURN(std::string der, SignAttached(context, entity, signer, options.sign));
    return Pkcs7MimeEntity(der, SmimeType::kSignedData);
  }
  ASSIGN_OR_RETURN(std::string der, SignDetached(context, entity, signer, options.sign));
  return MultipartSignedEntity(entity, der, options.sign.digest);
}

absl::StatusOr<std::string> SignMail(const CmsContext& context, absl::string_view mail,
                                     const Signer& signer, const MailSignOptions& options) {
  ASSIGN_OR_RETURN(MailParts parts, SplitMail(mail, context.limits));
  ASSIGN_OR_RETURN(std::string signed_entity, SignEntity(context, parts.entity, signer, options));
  return JoinMail(parts.outer_headers, signed_entity);
}

}  // namespace signet::cms
