#include "appliance/milter/message_rewrite.h"

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"

namespace signet::milter {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// RFC 5322 ftext: printable ASCII but the colon.
bool IsFieldName(absl::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (c < 33 || c > 126 || c == ':') return false;
  }
  return true;
}

// Every line end (CRLF, or LF alone) as CRLF.
void AppendCrlf(absl::string_view text, std::string& out) {
  size_t start = 0;
  while (start < text.size()) {
    const size_t lf = text.find('\n', start);
    if (lf == absl::string_view::npos) {
      out.append(text.data() + start, text.size() - start);
      return;
    }
    const size_t end = lf > start && text[lf - 1] == '\r' ? lf - 1 : lf;
    out.append(text.data() + start, end - start);
    out.append("\r\n");
    start = lf + 1;
  }
}

// One MIME field name's occurrences, in order.
struct NameGroup {
  std::string name;  // as first spelled
  std::vector<std::string> values;
};

// The MIME fields of `fields` by lower-cased name, with the names in order
// of first appearance.
void GroupMimeFields(const std::vector<HeaderField>& fields, std::vector<std::string>& order,
                     std::map<std::string, NameGroup>& groups) {
  for (const HeaderField& field : fields) {
    if (!IsMimeField(field.name)) continue;
    const std::string key = absl::AsciiStrToLower(field.name);
    auto [it, inserted] = groups.try_emplace(key, NameGroup{field.name, {}});
    if (inserted) order.push_back(key);
    it->second.values.push_back(field.value);
  }
}

}  // namespace

bool IsMimeField(absl::string_view name) {
  return absl::StartsWithIgnoreCase(name, "Content-") ||
         absl::EqualsIgnoreCase(name, "MIME-Version");
}

absl::StatusOr<std::vector<HeaderField>> ParseHeaderBlock(absl::string_view block) {
  std::vector<HeaderField> fields;
  size_t start = 0;
  int line_number = 0;
  while (start < block.size()) {
    ++line_number;
    size_t lf = block.find('\n', start);
    const size_t next = lf == absl::string_view::npos ? block.size() : lf + 1;
    if (lf == absl::string_view::npos) lf = block.size();
    absl::string_view line = block.substr(start, lf - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    start = next;
    if (!line.empty() && IsBlank(line.front())) {
      if (fields.empty()) {
        return absl::InvalidArgumentError("the header starts with a continuation line");
      }
      absl::StrAppend(&fields.back().value, "\n", line);
      continue;
    }
    const size_t colon = line.find(':');
    // Obsolete syntax allows blanks before the colon; nothing signetd writes.
    if (colon == absl::string_view::npos || !IsFieldName(line.substr(0, colon))) {
      return absl::InvalidArgumentError(
          absl::StrCat("header line ", line_number, " is not a field"));
    }
    absl::string_view value = line.substr(colon + 1);
    while (!value.empty() && IsBlank(value.front())) value.remove_prefix(1);
    fields.push_back({std::string(line.substr(0, colon)), std::string(value)});
  }
  return fields;
}

absl::StatusOr<Rewrite> ComputeRewrite(const std::vector<HeaderField>& original,
                                       absl::string_view signetd_output) {
  // The header ends at the first empty line.
  size_t start = 0;
  size_t body_start = absl::string_view::npos;
  while (start < signetd_output.size()) {
    const size_t lf = signetd_output.find('\n', start);
    if (lf == absl::string_view::npos) break;
    const size_t line_length = lf - start;
    if (line_length == 0 || (line_length == 1 && signetd_output[start] == '\r')) {
      body_start = lf + 1;
      break;
    }
    start = lf + 1;
  }
  if (body_start == absl::string_view::npos) {
    return absl::InvalidArgumentError("signetd's output has no blank line after its header");
  }
  ASSIGN_OR_RETURN(std::vector<HeaderField> output,
                   ParseHeaderBlock(signetd_output.substr(0, start)));

  std::vector<std::string> original_order, output_order;
  std::map<std::string, NameGroup> originals, outputs;
  GroupMimeFields(original, original_order, originals);
  GroupMimeFields(output, output_order, outputs);
  if (!outputs.contains("content-type")) {
    return absl::InvalidArgumentError("signetd's output has no Content-Type field");
  }
  // Without MIME-Version the result would not be MIME at all (RFC 2045
  // section 4), and an S/MIME type is nothing else.
  if (outputs.try_emplace("mime-version", NameGroup{"MIME-Version", {"1.0"}}).second) {
    output_order.insert(output_order.begin(), "mime-version");
  }

  Rewrite rewrite;
  std::vector<HeaderChange> changes, additions;
  for (const std::string& key : original_order) {
    const NameGroup& had = originals[key];
    auto replacement = outputs.find(key);
    const int kept = replacement == outputs.end() ? 0 : 1;
    for (int index = static_cast<int>(had.values.size()); index > kept; --index) {
      rewrite.header_changes.push_back({HeaderChange::kDelete, had.name, index, ""});
    }
    if (kept == 1) {
      const NameGroup& gets = replacement->second;
      changes.push_back({HeaderChange::kChange, gets.name, 1, gets.values.front()});
      for (size_t i = 1; i < gets.values.size(); ++i) {
        additions.push_back({HeaderChange::kAdd, gets.name, 0, gets.values[i]});
      }
    }
  }
  for (const std::string& key : output_order) {
    if (originals.contains(key)) continue;
    for (const std::string& value : outputs[key].values) {
      additions.push_back({HeaderChange::kAdd, outputs[key].name, 0, value});
    }
  }
  rewrite.header_changes.insert(rewrite.header_changes.end(), changes.begin(), changes.end());
  rewrite.header_changes.insert(rewrite.header_changes.end(), additions.begin(), additions.end());
  rewrite.body.reserve(signetd_output.size() - body_start);
  AppendCrlf(signetd_output.substr(body_start), rewrite.body);
  return rewrite;
}

std::string AssembleMessage(const std::vector<HeaderField>& headers, absl::string_view body) {
  std::string message;
  size_t size = body.size() + 2;
  for (const HeaderField& field : headers) size += field.name.size() + field.value.size() + 8;
  message.reserve(size);
  for (const HeaderField& field : headers) {
    absl::StrAppend(&message, field.name, ": ");
    AppendCrlf(field.value, message);
    message.append("\r\n");
  }
  message.append("\r\n");
  message.append(body.data(), body.size());
  return message;
}

}  // namespace signet::milter
