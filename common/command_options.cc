#include "common/command_options.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"

namespace signet {
namespace {

// "-" alone is an argument: stdin or stdout, by convention.
bool IsOptionWord(absl::string_view word) { return word.size() > 1 && word[0] == '-'; }

absl::Status Problem(absl::string_view name, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("--", name, " ", what));
}

// `word` (with its dashes) is no option of the command; `position` places it
// when the word itself may not be shown.
absl::Status Unknown(absl::string_view word, size_t position, const OptionSyntax& syntax) {
  absl::string_view name = word;
  const bool long_option = absl::ConsumePrefix(&name, "--");
  if (!long_option) absl::ConsumePrefix(&name, "-");
  name = name.substr(0, name.find('='));
  if (long_option && FindOption(syntax.not_here, name) != nullptr) {
    return Problem(name, absl::StrCat("does not apply to ", syntax.command));
  }
  if (!LooksLikeName(name)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown option in position ", position));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown option ", long_option ? "--" : "-", name));
}

}  // namespace

const OptionSpec* FindOption(absl::Span<const OptionSpec> specs, absl::string_view name) {
  for (const OptionSpec& spec : specs) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

bool LooksLikeName(absl::string_view text) {
  if (text.empty() || text.size() > 40) return false;
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return absl::ascii_islower(c) || c == '-'; });
}

bool CanBeSeparateValue(absl::string_view word) { return !absl::StartsWith(word, "--"); }

absl::Status ParsedOptions::Parse(absl::Span<const std::string> args, const OptionSyntax& syntax) {
  bool options_ended = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& word = args[i];
    const size_t position = i + 1;
    if (options_ended || !IsOptionWord(word)) {
      if (!syntax.arguments) {
        return absl::InvalidArgumentError(
            absl::StrCat("unexpected argument in position ", position, " (options start with --)"));
      }
      arguments_.push_back(word);
      continue;
    }
    if (word == "--") {
      options_ended = true;
      continue;
    }
    if (word == "--help" || word == "-h") {
      help_ = true;
      continue;
    }
    if (!absl::StartsWith(word, "--")) return Unknown(word, position, syntax);
    absl::string_view name = absl::string_view(word).substr(2);
    std::optional<std::string> inline_value;
    if (const size_t equals = name.find('='); equals != absl::string_view::npos) {
      inline_value = std::string(name.substr(equals + 1));
      name = name.substr(0, equals);
    }
    const OptionSpec* spec = FindOption(syntax.options, name);
    if (spec == nullptr) return Unknown(word, position, syntax);

    std::string value;
    if (spec->kind == OptionKind::kFlag) {
      if (inline_value.has_value()) return Problem(name, "takes no value");
    } else if (inline_value.has_value()) {
      value = *std::move(inline_value);
    } else if (i + 1 < args.size() && CanBeSeparateValue(args[i + 1])) {
      value = args[++i];
    } else {
      return Problem(name, "needs a value");
    }
    if (spec->kind != OptionKind::kFlag && value.empty()) return Problem(name, "needs a value");

    std::vector<std::string>& values = values_[std::string(name)];
    if (!values.empty() && spec->kind != OptionKind::kRepeated) {
      return Problem(name, "is given twice");
    }
    values.push_back(std::move(value));
  }
  return absl::OkStatus();
}

bool ParsedOptions::Has(absl::string_view name) const { return values_.contains(name); }

std::optional<std::string> ParsedOptions::Value(absl::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second.front();
}

absl::StatusOr<std::string> ParsedOptions::Required(absl::string_view name) const {
  std::optional<std::string> value = Value(name);
  if (!value.has_value()) return Problem(name, "is required");
  return *std::move(value);
}

const std::vector<std::string>& ParsedOptions::Values(absl::string_view name) const {
  static const std::vector<std::string>* const kNone = new std::vector<std::string>();
  auto it = values_.find(name);
  return it == values_.end() ? *kNone : it->second;
}

absl::StatusOr<ParsedOptions> ParseOptions(absl::Span<const std::string> args,
                                           const OptionSyntax& syntax) {
  ParsedOptions parsed;
  RETURN_IF_ERROR(parsed.Parse(args, syntax));
  return parsed;
}

}  // namespace signet
