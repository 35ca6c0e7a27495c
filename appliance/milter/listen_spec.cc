#include "appliance/milter/listen_spec.h"

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace signet::milter {

absl::StatusOr<ListenSpec> ParseListenSpec(absl::string_view spec) {
  const size_t colon = spec.find(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listen \"", spec, "\": expected unix:/PATH, inet:PORT@HOST or inet6:PORT@HOST"));
  }
  const std::string kind = absl::AsciiStrToLower(spec.substr(0, colon));
  const absl::string_view rest = spec.substr(colon + 1);
  ListenSpec result;
  if (kind == "unix" || kind == "local") {
    if (rest.empty() || rest.front() != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("listen \"", spec, "\": the socket path must be absolute"));
    }
    result.kind = ListenSpec::Kind::kUnix;
    result.path = std::string(rest);
    return result;
  }
  if (kind != "inet" && kind != "inet6") {
    return absl::InvalidArgumentError(absl::StrCat("listen \"", spec, "\": unknown kind \"", kind,
                                                   "\" (unix, local, inet or inet6)"));
  }
  result.kind = kind == "inet" ? ListenSpec::Kind::kInet : ListenSpec::Kind::kInet6;
  const size_t at = rest.find('@');
  const absl::string_view port = rest.substr(0, at);
  int number = 0;
  if (port.empty() || port.find_first_not_of("0123456789") != absl::string_view::npos ||
      !absl::SimpleAtoi(port, &number) || number < 1 || number > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen \"", spec, "\": the port must be a number from 1 to 65535"));
  }
  result.port = number;
  if (at != absl::string_view::npos) {
    result.host = std::string(rest.substr(at + 1));
    if (result.host.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("listen \"", spec, "\": empty host after '@' (leave out \"@\" for any)"));
    }
  }
  return result;
}

}  // namespace signet::milter
