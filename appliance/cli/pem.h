// PEM in and out without OpenSSL: the CLI links no crypto library for what
// is only base64 between two lines.
#ifndef SIGNET_APPLIANCE_CLI_PEM_H_
#define SIGNET_APPLIANCE_CLI_PEM_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace signet::cli {

// The DER of each "-----BEGIN <label>-----" block in text, in order.
// InvalidArgument when a block is not closed or its base64 does not decode.
absl::StatusOr<std::vector<std::string>> PemBlocks(absl::string_view text, absl::string_view label);

// The first certificate in `contents` (a file's bytes): PEM (a chain file
// gives its first certificate) or DER. `name` says which file in errors.
absl::StatusOr<std::string> CertificateDer(absl::string_view contents, absl::string_view name);

// "-----BEGIN <label>-----", base64 in lines of 64, "-----END <label>-----",
// each line ending in '\n'.
std::string PemEncode(absl::string_view label, absl::string_view der);

}  // namespace signet::cli

#endif  // SIGNET_APPLIANCE_CLI_PEM_H_
