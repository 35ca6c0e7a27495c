// Reading signetd's configuration file: protobuf text format of
// signet.config.v1.Config (docs/architecture.md, decision D9).
//
// Errors as common/text_config.h reports them: every one, with file, line
// and column. Only the syntax and the schema are checked here; what the
// values mean is ValidateConfig's job
// (appliance/server/config/config_validator.h).
#ifndef SIGNET_APPLIANCE_SERVER_CONFIG_LOADER_H_
#define SIGNET_APPLIANCE_SERVER_CONFIG_LOADER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/text_config.h"
#include "signet/config/v1/config.pb.h"

namespace signet::server {

// kMaxConfigBytes and kMaxParseErrors: common/text_config.h.

// Reads and parses the file at `path`. Errors: NOT_FOUND (no such file),
// PERMISSION_DENIED (unreadable), FAILED_PRECONDITION (a directory, a device
// or another non-regular file; more than kMaxConfigBytes), INVALID_ARGUMENT
// with one line per parse error. Each message starts with `path`.
absl::StatusOr<config::v1::Config> LoadConfig(const std::string& path);

// Parses `text`; errors are reported as in LoadConfig, with `name_for_errors`
// in place of the path. Text longer than kMaxConfigBytes is refused.
// (absl::string_view: Debian's abseil does not make it std::string_view;
// std::string and string literals convert.)
absl::StatusOr<config::v1::Config> ParseConfigText(absl::string_view text,
                                                   absl::string_view name_for_errors);

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_CONFIG_LOADER_H_
