// The certificates of a PEM file (anchors, chains, CRL issuers), read the
// same way wherever Signet takes a list of them from the configuration.
#ifndef SIGNET_COMMON_PEM_CERTIFICATES_H_
#define SIGNET_COMMON_PEM_CERTIFICATES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/ossl_ptr.h"

namespace signet {

// Every CERTIFICATE block of `pem`, in order; blocks of other kinds (a
// key, a CRL) are passed over. INVALID_ARGUMENT when a certificate block
// does not parse, or when there is no certificate.
absl::StatusOr<std::vector<X509Ptr>> ParsePemCertificates(absl::string_view pem);

// The same for a file of at most 16 MiB: ReadFileUpTo's errors when it
// cannot be read, and those of ParsePemCertificates prefixed with the path.
absl::StatusOr<std::vector<X509Ptr>> ReadPemCertificates(const std::string& path);

}  // namespace signet

#endif  // SIGNET_COMMON_PEM_CERTIFICATES_H_
