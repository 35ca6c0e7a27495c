// Reading signetd's configuration file: protobuf text format of
// signet.config.v1.Config (docs/architecture.md, decision D9).
//
// Every mistake is reported as "<file>:<line>:<column>: <message>" (1-based,
// the column counted in bytes, a tab being one), and as many as possible in
// one go: an operator fixing a config on an appliance should not have to
// restart the daemon once per typo. Only the syntax and the schema are
// checked here; what the values mean is ValidateConfig's job
// (appliance/server/config/config_validator.h).
#ifndef SIGNET_APPLIANCE_SERVER_CONFIG_LOADER_H_
#define SIGNET_APPLIANCE_SERVER_CONFIG_LOADER_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "signet/config/v1/config.pb.h"

namespace signet::server {

// A real config is a few KiB. A larger file is refused before it is read: a
// wrong path (a log, a disk image) must not be read into memory.
inline constexpr std::size_t kMaxConfigBytes = std::size_t{1} << 20;

// Parse errors reported at most; the status says when there were more.
inline constexpr int kMaxParseErrors = 20;

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
