// Encrypting whole mails, optionally signed first: the mail's content
// becomes an application/pkcs7-mime entity, its own header fields stay
// outside, and the result is a complete mail.
#ifndef SIGNET_APPLIANCE_CMS_MAIL_ENCRYPTOR_H_
#define SIGNET_APPLIANCE_CMS_MAIL_ENCRYPTOR_H_

#include <openssl/x509.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "appliance/cms/cms_context.h"
#include "appliance/cms/enveloped_data.h"
#include "appliance/cms/mail_pieces.h"
#include "appliance/cms/mail_signer.h"

namespace signet::cms {

absl::StatusOr<std::string> EncryptMail(const CmsContext& context, absl::string_view mail,
                                        const std::vector<X509*>& recipients,
                                        const EncryptOptions& options);

// The same for a mail the caller gives away (signetd), as pieces: the
// ciphertext is written over the plaintext where it lies and the base64
// of the CMS structure is made only as the result is read
// (MailPieces::AppendBase64Of), so that the result holds the mail's buffer
// once and a few KiB beside it, not the entity, the ciphertext, its DER and
// its base64. A body in canonical form already (CRLF, and 7-bit or a
// multipart) is encrypted where it lies in the mail; any other is written
// out as the entity first (the mail then freed), and encrypted there.
absl::StatusOr<MailPieces> EncryptOwnedMailPieces(const CmsContext& context, std::string mail,
                                                  const std::vector<X509*>& recipients,
                                                  const EncryptOptions& options);
// The same, flattened into one string.
absl::StatusOr<std::string> EncryptOwnedMail(const CmsContext& context, std::string mail,
                                             const std::vector<X509*>& recipients,
                                             const EncryptOptions& options);

// Signs the content (as SignMail does), then encrypts the signed entity, so
// that the signature is hidden from everyone but the recipients (RFC 8551
// §3.7).
absl::StatusOr<std::string> SignAndEncryptMail(const CmsContext& context, absl::string_view mail,
                                               const Signer& signer,
                                               const MailSignOptions& sign_options,
                                               const std::vector<X509*>& recipients,
                                               const EncryptOptions& encrypt_options);

// The same for a mail the caller gives away (signetd), as pieces, held
// once as EncryptOwnedMailPieces holds it: a multipart/signed signature of
// a body in canonical form already is made over the body where it lies, and
// the signed entity (its heads, that body, the signature part) encrypted
// there; any other is written out first (the mail then freed), signed, and
// the signed entity encrypted over itself.
absl::StatusOr<MailPieces> SignAndEncryptOwnedMailPieces(const CmsContext& context,
                                                         std::string mail, const Signer& signer,
                                                         const MailSignOptions& sign_options,
                                                         const std::vector<X509*>& recipients,
                                                         const EncryptOptions& encrypt_options);

}  // namespace signet::cms

#endif  // SIGNET_APPLIANCE_CMS_MAIL_ENCRYPTOR_H_
