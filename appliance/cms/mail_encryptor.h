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
#include "appliance/cms/mail_signer.h"

namespace signet::cms {

absl::StatusOr<std::string> EncryptMail(const CmsContext& context, absl::string_view mail,
                                        const std::vector<X509*>& recipients,
                                        const EncryptOptions& options);

// The same, given the mail to keep: it is freed once its entity is split
// off, before the encryption, so that a large mail is not held as given, as
// an entity and as ciphertext at once (signetd, which has no further use
// for it).
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

}  // namespace signet::cms

#endif  // SIGNET_APPLIANCE_CMS_MAIL_ENCRYPTOR_H_
