// Command-line options for signet-token, parsed by hand: "--name value",
// "--name=value" and bare "--flag".
//
// Nothing here ever repeats an argument's value in an error: an operator who
// types a PIN where a PIN source belongs must not see it echoed to a
// terminal, a log or a CI transcript.
#ifndef SIGNET_TOKENS_TOOL_ARGUMENTS_H_
#define SIGNET_TOKENS_TOOL_ARGUMENTS_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace signet::tool {

struct OptionSpec {
  absl::string_view name;  // without the leading "--"
  bool takes_value = true;
};

class ParsedOptions {
 public:
  std::optional<std::string> Value(absl::string_view name) const;
  bool Flag(absl::string_view name) const;
  bool help() const { return help_; }

 private:
  friend absl::StatusOr<ParsedOptions> ParseOptions(const std::vector<std::string>& args,
                                                    absl::Span<const OptionSpec> specs);
  std::map<std::string, std::string, std::less<>> values_;
  std::set<std::string, std::less<>> flags_;
  bool help_ = false;
};

// Whether `text` may be repeated in an error as a command or option name:
// lower-case letters and '-' only. Anything else (digits, punctuation) may
// be a PIN typed in the wrong place and is not echoed.
bool LooksLikeName(absl::string_view text);

// Parses `args` (everything after the subcommand). "--help" and "-h" are
// always accepted. InvalidArgument for an unknown option, a repeated one, a
// missing value or a positional argument.
absl::StatusOr<ParsedOptions> ParseOptions(const std::vector<std::string>& args,
                                           absl::Span<const OptionSpec> specs);

}  // namespace signet::tool

#endif  // SIGNET_TOKENS_TOOL_ARGUMENTS_H_
