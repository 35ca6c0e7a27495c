#include "appliance/cli/cli_status.h"

#include <optional>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "signet/v1/errors.pb.h"

namespace signet::cli {
namespace {

constexpr char kDetailsUrl[] = "type.googleapis.com/signet.v1.ErrorDetails";
constexpr char kCannotConnectUrl[] = "signet.cli/cannot-connect";

// gRPC's own messages for conditions the client detects are terse or empty;
// say what they mean for a signet user.
std::string MessageOf(const absl::Status& status) {
  std::string message(status.message());
  if (status.code() == absl::StatusCode::kUnimplemented && message.empty()) {
    return "signetd does not offer this call (it is older than this signet)";
  }
  if (status.code() == absl::StatusCode::kDeadlineExceeded && message == "Deadline Exceeded") {
    return "no answer within the deadline (see --timeout)";
  }
  if (message.empty()) return "(no message)";
  // One line, whatever the daemon or a library put in the message.
  return absl::StrReplaceAll(message, {{"\r\n", " "}, {"\n", " "}, {"\r", " "}});
}

}  // namespace

absl::Status StatusFromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status converted(static_cast<absl::StatusCode>(static_cast<int>(status.error_code())),
                         status.error_message());
  if (!status.error_details().empty()) {
    converted.SetPayload(kDetailsUrl, absl::Cord(status.error_details()));
  }
  return converted;
}

absl::Status CannotConnectError(absl::string_view message) {
  absl::Status status = absl::UnavailableError(message);
  status.SetPayload(kCannotConnectUrl, absl::Cord());
  return status;
}

int ExitCodeFor(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  if (status.GetPayload(kCannotConnectUrl).has_value()) return kExitCannotConnect;
  return kExitFailed;
}

std::string FormatErrorDetails(absl::string_view serialized) {
  v1::ErrorDetails details;
  if (serialized.empty() ||
      !details.ParseFromArray(serialized.data(), static_cast<int>(serialized.size()))) {
    return "";
  }
  std::vector<std::string> parts;
  if (!details.ckr().empty()) parts.push_back(details.ckr());
  if (!details.verify_failure().empty()) parts.push_back(details.verify_failure());
  if (details.unresolved_recipients_size() > 0) {
    std::vector<std::string> addresses;
    for (const v1::UnresolvedRecipient& recipient : details.unresolved_recipients()) {
      addresses.push_back(recipient.address());
    }
    parts.push_back(absl::StrCat("no certificate for ", absl::StrJoin(addresses, ", ")));
  }
  if (details.retryable()) parts.push_back("retryable");
  if (!details.token().empty()) parts.push_back(absl::StrCat("token ", details.token()));
  if (parts.empty()) return "";
  return absl::StrCat("(", absl::StrJoin(parts, ", "), ")");
}

std::string FormatError(absl::string_view operation, const absl::Status& status) {
  std::string code = absl::StatusCodeToString(status.code());
  if (code.empty()) code = absl::StrCat("CODE_", static_cast<int>(status.code()));
  std::string line = absl::StrCat("signet: ", operation, ": ", code, ": ", MessageOf(status));
  if (auto details = status.GetPayload(kDetailsUrl); details.has_value()) {
    const std::string formatted = FormatErrorDetails(std::string(*details));
    if (!formatted.empty()) absl::StrAppend(&line, " ", formatted);
  }
  return line;
}

}  // namespace signet::cli
