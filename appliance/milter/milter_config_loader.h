// Reading signet-milter's configuration file: protobuf text format of
// signet.milter.v1.MilterConfig, parsed as signetd's (common/text_config.h):
// every syntax or schema error at once, as "<file>:<line>:<column>: ...".
// What the values mean is ValidateMilterConfig's job
// (milter_config_validator.h); the defaults are WithDefaults'
// (milter_config_defaults.h).
#ifndef SIGNET_APPLIANCE_MILTER_MILTER_CONFIG_LOADER_H_
#define SIGNET_APPLIANCE_MILTER_MILTER_CONFIG_LOADER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "signet/milter/v1/milter_config.pb.h"

namespace signet::milter {

// Errors: NOT_FOUND, PERMISSION_DENIED, FAILED_PRECONDITION (not a regular
// file; larger than kMaxConfigBytes), INVALID_ARGUMENT (one line per parse
// error). Each message starts with `path`.
absl::StatusOr<v1::MilterConfig> LoadMilterConfig(const std::string& path);

// Parses `text`; errors as LoadMilterConfig's, naming `name_for_errors`.
absl::StatusOr<v1::MilterConfig> ParseMilterConfigText(absl::string_view text,
                                                       absl::string_view name_for_errors);

}  // namespace signet::milter

#endif  // SIGNET_APPLIANCE_MILTER_MILTER_CONFIG_LOADER_H_
