// ParseEntity: a header block (RFC 5322 §2.2 fields, folded lines) and a body.
#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "appliance/cms/mime.h"
#include "appliance/cms/mime_internal.h"

namespace signet::cms {
namespace {

using mime_internal::IsWsp;
using mime_internal::Line;
using mime_internal::LineAt;
using mime_internal::LineContent;
using mime_internal::QuoteForError;

bool IsFieldNameChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 33 && u <= 126 && c != ':';
}

void TrimValues(MimeEntity& entity) {
  for (HeaderField& field : entity.headers) absl::StripAsciiWhitespace(&field.value);
}

// The field begun or continued so far, named for an error about the line
// after it (field names are not confidential; values may be).
std::string After(const MimeEntity& entity) {
  if (entity.headers.empty()) return "";
  return absl::StrCat(" (after field ", QuoteForError(entity.headers.back().name), ")");
}

}  // namespace

const HeaderField* MimeEntity::Find(absl::string_view name) const {
  for (const HeaderField& field : headers) {
    if (absl::EqualsIgnoreCase(field.name, name)) return &field;
  }
  return nullptr;
}

absl::StatusOr<MimeEntity> ParseEntity(absl::string_view text, const Limits& limits) {
  if (text.size() > limits.max_message_bytes) {
    return absl::InvalidArgumentError(
        absl::StrFormat("MIME entity of %d bytes is larger than the limit of %d bytes", text.size(),
                        limits.max_message_bytes));
  }
  MimeEntity entity;
  int line_number = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const Line line = LineAt(text, pos);
    const absl::string_view content = LineContent(text, line);
    ++line_number;
    if (content.empty()) {
      entity.header_block = text.substr(0, line.begin);
      entity.body = text.substr(line.end);
      TrimValues(entity);
      return entity;
    }
    if (IsWsp(content.front())) {
      if (entity.headers.empty()) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "header line %d: continuation line (starting with a space or tab) before any field",
            line_number));
      }
      HeaderField& field = entity.headers.back();
      // Unfolding removes the line break only; the whitespace stays.
      field.value.append(content.data(), content.size());
      const std::size_t field_begin = static_cast<std::size_t>(field.raw.data() - text.data());
      field.raw = text.substr(field_begin, line.end - field_begin);
    } else {
      const std::size_t colon = content.find(':');
      if (colon == absl::string_view::npos) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "header line %d%s is neither a field (\"name: value\") nor a continuation line",
            line_number, After(entity)));
      }
      absl::string_view name = content.substr(0, colon);
      // RFC 5322 §4.5 obsolete syntax, still to be accepted: whitespace
      // between the name and the colon.
      while (!name.empty() && IsWsp(name.back())) name.remove_suffix(1);
      if (name.empty()) {
        return absl::InvalidArgumentError(
            absl::StrFormat("header line %d%s: empty field name", line_number, After(entity)));
      }
      for (char c : name) {
        if (!IsFieldNameChar(c)) {
          return absl::InvalidArgumentError(absl::StrFormat(
              "header line %d%s: field name contains byte 0x%02x (allowed: printable ASCII "
              "except ':')",
              line_number, After(entity), static_cast<unsigned char>(c)));
        }
      }
      if (entity.headers.size() >= static_cast<std::size_t>(limits.max_header_fields)) {
        return absl::InvalidArgumentError(absl::StrFormat("more than %d header fields (at line %d)",
                                                          limits.max_header_fields, line_number));
      }
      const absl::string_view value = content.substr(colon + 1);
      entity.headers.push_back(HeaderField{
          .name = std::string(name),
          .value = std::string(value),
          .raw = text.substr(line.begin, line.end - line.begin),
      });
    }
    pos = line.end;
  }
  // No empty line: all of it is header fields.
  entity.header_block = text;
  entity.body = text.substr(text.size());
  TrimValues(entity);
  return entity;
}

}  // namespace signet::cms
