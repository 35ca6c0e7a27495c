#include "appliance/server/call_log.h"

#include <cstdio>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace signet::server {
namespace {

// Longest name or message written; the rest is cut and marked.
constexpr size_t kMaxNameBytes = 128;
constexpr size_t kMaxMessageBytes = 512;

// `text` in double quotes, escaped onto one line, at most `max` bytes of it.
std::string Quoted(absl::string_view text, size_t max) {
  const bool cut = text.size() > max;
  return absl::StrCat("\"", absl::CEscape(text.substr(0, max)), cut ? "..." : "", "\"");
}

bool PlainName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '_' && c != '.' && c != '@' && c != '/' &&
        c != ':') {
      return false;
    }
  }
  return true;
}

// A name as a field value: "-" for none, as is when it cannot be mistaken
// for other fields, quoted otherwise.
std::string NameField(absl::string_view name) {
  if (name.empty()) return "-";
  if (PlainName(name)) return std::string(name);
  return Quoted(name, kMaxNameBytes);
}

}  // namespace

std::string FormatCallLine(const CallSummary& summary) {
  std::string line = absl::StrCat(
      "call ", NameField(summary.method), " caller=", NameField(summary.caller),
      " key=", NameField(summary.key), " in=", summary.input_bytes, " out=", summary.output_bytes,
      " status=", absl::StatusCodeToString(static_cast<absl::StatusCode>(summary.code)),
      absl::StrFormat(" ms=%.1f", absl::ToDoubleMilliseconds(summary.duration)));
  if (summary.code != grpc::StatusCode::OK) {
    absl::StrAppend(&line, " message=", Quoted(summary.message, kMaxMessageBytes));
  }
  return line;
}

LogLevel CallLogLevel(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return LogLevel::kDebug;
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DATA_LOSS:
      return LogLevel::kWarning;
    default:
      return LogLevel::kInfo;
  }
}

CallLog::CallLog(absl::string_view method, uint64_t input_bytes)
    : method_(method), input_bytes_(input_bytes), start_(absl::Now()) {}

const grpc::Status& CallLog::Finish(const grpc::Status& status, uint64_t output_bytes) noexcept {
  if (finished_) return status;
  finished_ = true;
  // A successful call's line is at debug level, which is off by default:
  // not formatted then.
  const LogLevel level = CallLogLevel(status.error_code());
  if (!LogEnabled(level)) return status;
  try {
    Log(level, FormatCallLine({.method = method_,
                               .caller = caller_,
                               .key = key_,
                               .input_bytes = input_bytes_,
                               .output_bytes = output_bytes,
                               .code = status.error_code(),
                               .message = status.error_message(),
                               .duration = absl::Now() - start_}));
  } catch (...) {
    // Out of memory: the call still gets its status; its line is lost, and
    // that is said without allocating.
    std::fputs("signetd: a call's log line was lost: out of memory\n", stderr);
  }
  return status;
}

void FinishUnary(grpc::ServerUnaryReactor& reactor, CallLog& log, const grpc::Status& status,
                 const google::protobuf::MessageLite& response) {
  reactor.Finish(log.Finish(status, status.ok() ? response.ByteSizeLong() : 0));
}

}  // namespace signet::server
