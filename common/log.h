// The token layer's log. Small on purpose: one line per event, a level, and a
// sink that tests can replace to search every line for secrets.
#ifndef SIGNET_COMMON_LOG_H_
#define SIGNET_COMMON_LOG_H_

#include <functional>

#include "absl/strings/string_view.h"

namespace signet {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

using LogSink = std::function<void(LogLevel, absl::string_view)>;

// Replaces the sink (default: one line on stderr); returns the previous one.
LogSink SetLogSink(LogSink sink);
void SetMinLogLevel(LogLevel level);

void Log(LogLevel level, absl::string_view message);

// Whether a line at `level` would be written: for callers that would
// otherwise format a line only for Log to drop it.
bool LogEnabled(LogLevel level);

}  // namespace signet

#endif  // SIGNET_COMMON_LOG_H_
