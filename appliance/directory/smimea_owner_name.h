// The DNS name of an address's SMIMEA records (RFC 8162 section 3), shared
// by the lookup and the export.
#ifndef SIGNET_APPLIANCE_DIRECTORY_SMIMEA_OWNER_NAME_H_
#define SIGNET_APPLIANCE_DIRECTORY_SMIMEA_OWNER_NAME_H_

#include <string>

#include "absl/strings/string_view.h"

namespace signet::directory {

// The owner name for an address as NormalizeAddress returns it:
// "<56 hex>._smimecert.<domain>.", the hex (lower case) of the first 28
// bytes of SHA-256 over the local part. RFC 8162 hashes the local part as
// the sender wrote it and leaves case to the domain; the directory keys
// addresses lower-cased, so the lower-case local part is what is hashed, and
// a domain that publishes under a mixed-case local part is not found.
// Empty for a string without '@'.
std::string SmimeaOwnerName(absl::string_view address);

}  // namespace signet::directory

#endif  // SIGNET_APPLIANCE_DIRECTORY_SMIMEA_OWNER_NAME_H_
