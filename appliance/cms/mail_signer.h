// Signing whole mails: the mail's content becomes a signed S/MIME entity,
// its own header fields stay outside, and the result is a complete mail.
#ifndef SIGNET_APPLIANCE_CMS_MAIL_SIGNER_H_
#define SIGNET_APPLIANCE_CMS_MAIL_SIGNER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "appliance/cms/cms_context.h"
#include "appliance/cms/mail_parts.h"
#include "appliance/cms/mail_pieces.h"
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

// A multipart/signed entity around a body that stays where it lies: `head`
// is the multipart/signed head with the signed entity's own head after it,
// then comes the body, then `tail`, the signature part.
struct SignedAroundBody {
  std::string head;
  std::string tail;
};
// Signs `plan`'s entity, its head and its body, as multipart/signed (the
// form of `options` is not looked at). For a plan whose body is canonical
// already (BodyIsCanonical); its MIME structure is checked here.
absl::StatusOr<SignedAroundBody> SignAroundBody(const CmsContext& context, const SplitPlan& plan,
                                                const Signer& signer,
                                                const MailSignOptions& options);

// Signs an RFC 5322 mail (or a bare MIME entity) and returns the signed mail.
absl::StatusOr<std::string> SignMail(const CmsContext& context, absl::string_view mail,
                                     const Signer& signer, const MailSignOptions& options);

// The same for a mail the caller gives away (signetd), as pieces: a
// multipart/signed mail whose body is in canonical form already (CRLF, and
// 7-bit or a multipart, so sent as it is) keeps it where it lies in the
// mail, between the new head and the signature part, so that the result
// and the mail are one buffer, not two. Otherwise (opaque, a body re-encoded
// or given CRLFs) the result is one piece of its own and the mail is freed
// once the entity is written, as EncryptOwnedMail does.
absl::StatusOr<MailPieces> SignOwnedMail(const CmsContext& context, std::string mail,
                                         const Signer& signer, const MailSignOptions& options);

}  // namespace signet::cms

#endif  // SIGNET_APPLIANCE_CMS_MAIL_SIGNER_H_
