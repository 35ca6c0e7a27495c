// Signing whole mails: the mail's content becomes a signed S/MIME entity,
// its own header fields stay outside, and the result is a complete mail.
#ifndef SIGNET_APPLIANCE_CMS_MAIL_SIGNER_H_
#define SIGNET_APPLIANCE_CMS_MAIL_SIGNER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "appliance/cms/cms_context.h"
#include "appliance/cms/signed_data.h"

namespace signet::cms {

enum class SignedForm {
  // multipart/signed: readable by clients without S/MIME (RFC 8551 §3.5.3).
  kMultipartSigned,
  // application/pkcs7-mime; smime-type=signed-data: the content inside the
  // signature, safe from gateways that rewrite text (RFC 8551 §3.5.2).
  kOpaque,
};

struct MailSignOptions {
  SignOptions sign;
  SignedForm form = SignedForm::kMultipartSigned;
};

// Signs a canonical MIME entity (as SplitMail makes it) and returns the
// signed entity: multipart/signed or application/pkcs7-mime.
absl::StatusOr<std::string> SignEntity(const CmsContext& context, absl::string_view entity,
                                       const Signer& signer, const MailSignOptions& options);

// Signs an RFC 5322 mail (or a bare MIME entity) and returns the signed mail.
absl::StatusOr<std::string> SignMail(const CmsContext& context, absl::string_view mail,
                                     const Signer& signer, const MailSignOptions& options);

}  // namespace signet::cms

#endif  // SIGNET_APPLIANCE_CMS_MAIL_SIGNER_H_
