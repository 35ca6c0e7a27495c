// E-mail addresses as the directory keys them: an RFC 5321 Mailbox
// (dot-atom local part, a domain of LDH labels or an address literal is
// refused), compared ignoring ASCII case in the whole address, as VerifyMail
// matches a From: address to a signer's certificate.
#ifndef SIGNET_APPLIANCE_DIRECTORY_EMAIL_ADDRESS_H_
#define SIGNET_APPLIANCE_DIRECTORY_EMAIL_ADDRESS_H_

#include <openssl/x509.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace signet::directory {

// At most this many distinct addresses are indexed for one certificate; a
// certificate with more is refused rather than partly indexed.
inline constexpr size_t kMaxAddressesPerCertificate = 100;

// The address lower-cased. InvalidArgument, saying what is wrong and
// quoting at most the first 64 bytes, for anything that is not a plain
// ASCII local-part@domain: empty, no or several '@', a local part that is
// not a dot-atom or longer than 64, a domain that is not dot-separated LDH
// labels with at least two labels, or more than 254 bytes in all.
absl::StatusOr<std::string> NormalizeAddress(absl::string_view address);

// The certificate's e-mail addresses, normalized, deduplicated, in order of
// appearance: subjectAltName rfc822Name entries, then the subject's
// emailAddress attributes. Entries that do not normalize are skipped.
// InvalidArgument when there are more than kMaxAddressesPerCertificate.
absl::StatusOr<std::vector<std::string>> CertificateAddresses(X509* certificate);

}  // namespace signet::directory

#endif  // SIGNET_APPLIANCE_DIRECTORY_EMAIL_ADDRESS_H_
