#include "tokens/tool/arguments.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace signet::tool {
namespace {

const OptionSpec* FindSpec(absl::Span<const OptionSpec> specs, absl::string_view name) {
  for (const OptionSpec& spec : specs) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

}  // namespace

bool LooksLikeName(absl::string_view text) {
  if (text.empty() || text.size() > 40) return false;
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return absl::ascii_islower(c) || c == '-'; });
}

std::optional<std::string> ParsedOptions::Value(absl::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

bool ParsedOptions::Flag(absl::string_view name) const { return flags_.contains(name); }

absl::StatusOr<ParsedOptions> ParseOptions(const std::vector<std::string>& args,
                                           absl::Span<const OptionSpec> specs) {
  ParsedOptions parsed;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      parsed.help_ = true;
      continue;
    }
    if (!absl::ConsumePrefix(&arg, "--")) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument in position ", i + 1, " (options start with --)"));
    }
    std::optional<std::string> inline_value;
    if (size_t equals = arg.find('='); equals != absl::string_view::npos) {
      inline_value = std::string(arg.substr(equals + 1));
      arg = arg.substr(0, equals);
    }
    const OptionSpec* spec = FindSpec(specs, arg);
    if (spec == nullptr) {
      return absl::InvalidArgumentError(LooksLikeName(arg)
                                            ? absl::StrCat("unknown option --", arg)
                                            : absl::StrCat("unknown option in position ", i + 1));
    }
    const std::string name(arg);
    if (!spec->takes_value) {
      if (inline_value)
        return absl::InvalidArgumentError(absl::StrCat("--", name, " takes no value"));
      if (!parsed.flags_.insert(name).second) {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " is given twice"));
      }
      continue;
    }
    std::string value;
    if (inline_value) {
      value = *std::move(inline_value);
    } else if (i + 1 < args.size() && !absl::StartsWith(args[i + 1], "--")) {
      // A following option is a forgotten value, not the value ("--module
      // --token x"); a value that starts with "--" can be given as --name=...
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
    }
    if (value.empty()) return absl::InvalidArgumentError(absl::StrCat("--", name, " is empty"));
    if (!parsed.values_.emplace(name, std::move(value)).second) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " is given twice"));
    }
  }
  return parsed;
}

}  // namespace signet::tool
