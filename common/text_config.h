// Configuration files in protobuf text format (docs/architecture.md,
// decision D9), for any daemon's schema: signetd's signet.config.v1.Config
// and signet-milter's signet.milter.v1.MilterConfig.
//
// Every mistake is reported as "<file>:<line>:<column>: <message>" (1-based,
// the column counted in bytes, a tab being one), and as many as possible in
// one go: an operator fixing a config on an appliance should not have to
// restart the daemon once per typo. Only the syntax and the schema are
// checked here; what the values mean is each daemon's validator's job.
#ifndef SIGNET_COMMON_TEXT_CONFIG_H_
#define SIGNET_COMMON_TEXT_CONFIG_H_

#include <google/protobuf/message.h>

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace signet {

// A real config is a few KiB. A larger file is refused before it is read: a
// wrong path (a log, a disk image) must not be read into memory.
inline constexpr std::size_t kMaxConfigBytes = std::size_t{1} << 20;

// Parse errors reported at most; the status says when there were more.
inline constexpr int kMaxParseErrors = 20;

// The bytes of the config file at `path`. Errors: NOT_FOUND (no such file),
// PERMISSION_DENIED (unreadable), FAILED_PRECONDITION (a directory, a device
// or another non-regular file; more than kMaxConfigBytes, saying "not
// <what>", e.g. "not a signetd config"). Each message starts with `path`.
absl::StatusOr<std::string> ReadConfigFile(const std::string& path, absl::string_view what);

// Parses `text` into `message` (cleared first). INVALID_ARGUMENT with one
// line per parse error, each starting with `name_for_errors`; unknown fields
// are errors. Text longer than kMaxConfigBytes is FAILED_PRECONDITION, as in
// ReadConfigFile. On error `message` holds what parsed, which means nothing.
absl::Status ParseTextConfig(absl::string_view text, absl::string_view name_for_errors,
                             absl::string_view what, google::protobuf::Message& message);

}  // namespace signet

#endif  // SIGNET_COMMON_TEXT_CONFIG_H_
