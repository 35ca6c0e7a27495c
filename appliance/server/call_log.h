// One log line per RPC, written as the call finishes: the method, the
// caller, the key, how many bytes came in and went out, the gRPC status
// code, how long it took and, for a failure, the status message.
//
// What a line never carries: request or response content (mail, digests,
// certificates), PINs or key material. Status messages are built to be safe
// (grpc_status.h); names that came from the client (a key it asked for) and
// the message are escaped onto one line and cut to a bounded length, so a
// client cannot forge or flood log lines.
//
// Successes are logged at debug level, client errors (bad input, denied,
// not found...) at info, and faults on the appliance's side (UNAVAILABLE,
// INTERNAL, DATA_LOSS, UNKNOWN) at warning.
#ifndef SIGNET_APPLIANCE_SERVER_CALL_LOG_H_
#define SIGNET_APPLIANCE_SERVER_CALL_LOG_H_

#include <google/protobuf/message_lite.h>
#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/log.h"

namespace signet::server {

// What a finished call's line says.
struct CallSummary {
  absl::string_view method;
  // The caller's configured name; empty before (or without) admission.
  absl::string_view caller;
  // The key the call named; empty for none.
  absl::string_view key;
  uint64_t input_bytes = 0;
  uint64_t output_bytes = 0;
  grpc::StatusCode code = grpc::StatusCode::OK;
  // Only written for failures.
  absl::string_view message;
  absl::Duration duration;
};

// "call SignMail caller=local-gateway key=bank-signing in=1234 out=5678
// status=OK ms=12.3", and for a failure ' message="..."' after it. Absent
// names are "-".
std::string FormatCallLine(const CallSummary& summary);

// The level of a call's line, by its status code (see above).
LogLevel CallLogLevel(grpc::StatusCode code);

// One call's line, built up while it runs and written when it finishes.
// Not thread-safe: the steps of one call happen one after another.
class CallLog {
 public:
  // Starts the clock.
  explicit CallLog(absl::string_view method, uint64_t input_bytes = 0);

  void set_caller(absl::string_view caller) { caller_ = std::string(caller); }
  void set_key(absl::string_view key) { key_ = std::string(key); }
  void add_input_bytes(uint64_t bytes) { input_bytes_ += bytes; }

  // Writes the line (the first time only) and returns `status`, so that a
  // call finishes with `reactor->Finish(log.Finish(status, output_bytes))`
  // and its line is written before the client can see the status. Never
  // throws: out of memory, the line is lost but the status still goes out.
  const grpc::Status& Finish(const grpc::Status& status, uint64_t output_bytes) noexcept;

 private:
  std::string method_;
  std::string caller_;
  std::string key_;
  uint64_t input_bytes_;
  absl::Time start_;
  bool finished_ = false;
};

// Ends a unary call: its line (for a success, the output is the response's
// serialized size), then its status.
void FinishUnary(grpc::ServerUnaryReactor& reactor, CallLog& log, const grpc::Status& status,
                 const google::protobuf::MessageLite& response);

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_CALL_LOG_H_
