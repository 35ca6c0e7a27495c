// The options parser that `signet` and `signet-token` share, so that both
// read a command line the same way: "--name value", "--name=value", a bare
// "--flag", a repeatable "--name" where the command allows it, "--" before
// arguments that start with a dash, and "--help" or "-h" anywhere. Each tool
// keeps its own commands and what their options mean; this only splits the
// words and refuses the ones that do not fit.
//
// No error repeats a word the user typed unless it looks like an option
// name: an operator who types a PIN where an option belongs must not see it
// echoed to a terminal, a log or a CI transcript. Such a word is named by
// its position instead (1: the first word after the command).
#ifndef SIGNET_COMMON_COMMAND_OPTIONS_H_
#define SIGNET_COMMON_COMMAND_OPTIONS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace signet {

enum class OptionKind {
  kValue,     // --name VALUE or --name=VALUE, at most once
  kRepeated,  // the same, any number of times ("--recipient a --recipient b")
  kFlag,      // --name alone
};

struct OptionSpec {
  absl::string_view name;  // without the leading "--"
  OptionKind kind = OptionKind::kValue;
};

// What one command accepts.
struct OptionSyntax {
  // The command as the user typed it ("audit verify"), for errors about
  // options it does not take.
  absl::string_view command;
  absl::Span<const OptionSpec> options;
  // Options the tool takes elsewhere but this command does not (signet's
  // connection options, for the offline `audit verify`): refused as
  // "--socket does not apply to audit verify" rather than as unknown.
  absl::Span<const OptionSpec> not_here;
  // Whether words that are not options are kept as arguments (signet's
  // files); when not, the first one is an error.
  bool arguments = false;
};

const OptionSpec* FindOption(absl::Span<const OptionSpec> specs, absl::string_view name);

// Whether `text` may be repeated in an error as a command or option name:
// lower-case letters and '-' only. Anything else (digits, punctuation) may
// be a PIN typed in the wrong place and is not echoed.
bool LooksLikeName(absl::string_view text);

// Whether `word`, following an option that takes a value, is read as that
// value. A word that starts with "--" is not: it is the next option, and the
// value was forgotten ("--module --token x"). Such a value can still be given
// as "--name=--value".
bool CanBeSeparateValue(absl::string_view word);

class ParsedOptions {
 public:
  // Reads `args` (the words after the command) into this. Called again with
  // more words, it keeps what it has read, so that an option given in both
  // is given twice: signet reads the connection options in front of the
  // command word, then the rest. InvalidArgument, with a message that names
  // the option, for an unknown option, a repeated one, a missing or empty
  // value, a value given to a flag, or an argument where none is allowed.
  absl::Status Parse(absl::Span<const std::string> args, const OptionSyntax& syntax);

  // Whether the option was given (a flag, or a value).
  bool Has(absl::string_view name) const;
  // The value of an option given once; the first of a repeated one.
  std::optional<std::string> Value(absl::string_view name) const;
  // InvalidArgument "--name is required" when the option was not given.
  absl::StatusOr<std::string> Required(absl::string_view name) const;
  // Every value of a repeated option, in order; empty when it was not given.
  const std::vector<std::string>& Values(absl::string_view name) const;
  // The words that are not options, in order.
  const std::vector<std::string>& arguments() const { return arguments_; }
  // "--help" or "-h" was given.
  bool help() const { return help_; }

 private:
  // Per option given: its values; a flag has one empty value per use.
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
  std::vector<std::string> arguments_;
  bool help_ = false;
};

// ParsedOptions::Parse on a fresh ParsedOptions.
absl::StatusOr<ParsedOptions> ParseOptions(absl::Span<const std::string> args,
                                           const OptionSyntax& syntax);

}  // namespace signet

#endif  // SIGNET_COMMON_COMMAND_OPTIONS_H_
