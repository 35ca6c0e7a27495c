// Content-Type values (RFC 2045 §5.1): type "/" subtype *(";" parameter),
// with RFC 822 comments and whitespace allowed between the tokens.
#include <cstddef>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "appliance/cms/mime.h"
#include "appliance/cms/mime_internal.h"
#include "common/status_macros.h"

namespace signet::cms {
namespace {

using mime_internal::QuoteForError;

bool IsTokenChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u <= 32 || u >= 127) return false;
  return absl::string_view("()<>@,;:\\\"/[]?=").find(c) == absl::string_view::npos;
}

absl::Status Error(absl::string_view what, std::size_t offset) {
  return absl::InvalidArgumentError(
      absl::StrFormat("Content-Type: %s (at offset %d)", what, offset));
}

// Reads a Content-Type value left to right; every method costs the bytes it
// consumes, so a whole parse is linear.
class Reader {
 public:
  explicit Reader(absl::string_view text) : text_(text) {}

  bool AtEnd() const { return pos_ == text_.size(); }
  char Peek() const { return text_[pos_]; }
  void Skip() { ++pos_; }
  std::size_t offset() const { return pos_; }

  // Whitespace and (comments), which may nest and contain quoted pairs;
  // nesting is counted, not recursed into.
  absl::Status SkipSpaceAndComments() {
    while (!AtEnd()) {
      const char c = Peek();
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        ++pos_;
      } else if (c == '(') {
        const std::size_t start = pos_;
        int depth = 0;
        do {
          if (AtEnd()) return Error("unterminated comment", start);
          const char d = text_[pos_++];
          if (d == '\\') {
            if (AtEnd()) return Error("unterminated comment", start);
            ++pos_;
          } else if (d == '(') {
            ++depth;
          } else if (d == ')') {
            --depth;
          }
        } while (depth > 0);
      } else {
        break;
      }
    }
    return absl::OkStatus();
  }

  absl::string_view Token() {
    const std::size_t start = pos_;
    while (!AtEnd() && IsTokenChar(Peek())) ++pos_;
    return text_.substr(start, pos_ - start);
  }

  // At the opening quote: the string's content with the quotes and the
  // backslashes of quoted pairs removed.
  absl::StatusOr<std::string> QuotedString() {
    const std::size_t start = pos_;
    ++pos_;
    std::string out;
    while (true) {
      if (AtEnd()) return Error("unterminated quoted string", start);
      const char c = text_[pos_++];
      if (c == '"') return out;
      if (c == '\\') {
        if (AtEnd()) return Error("unterminated quoted string", start);
        out.push_back(text_[pos_++]);
      } else {
        out.push_back(c);
      }
    }
  }

 private:
  absl::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

bool ContentType::Is(absl::string_view type_name, absl::string_view subtype_name) const {
  return absl::EqualsIgnoreCase(type, type_name) && absl::EqualsIgnoreCase(subtype, subtype_name);
}

std::optional<std::string> ContentType::Param(absl::string_view name) const {
  for (const auto& [param_name, value] : params) {
    if (absl::EqualsIgnoreCase(param_name, name)) return value;
  }
  return std::nullopt;
}

absl::StatusOr<ContentType> ParseContentType(absl::string_view value) {
  Reader in(value);
  ContentType result;
  RETURN_IF_ERROR(in.SkipSpaceAndComments());
  const absl::string_view type = in.Token();
  if (type.empty()) return Error("expected a media type", in.offset());
  RETURN_IF_ERROR(in.SkipSpaceAndComments());
  if (in.AtEnd() || in.Peek() != '/')
    return Error("expected '/' after the media type", in.offset());
  in.Skip();
  RETURN_IF_ERROR(in.SkipSpaceAndComments());
  const absl::string_view subtype = in.Token();
  if (subtype.empty()) return Error("expected a subtype after '/'", in.offset());
  result.type = absl::AsciiStrToLower(type);
  result.subtype = absl::AsciiStrToLower(subtype);

  while (true) {
    RETURN_IF_ERROR(in.SkipSpaceAndComments());
    if (in.AtEnd()) break;
    if (in.Peek() != ';') return Error("expected ';' before a parameter", in.offset());
    in.Skip();
    RETURN_IF_ERROR(in.SkipSpaceAndComments());
    // Tolerated: a ';' with nothing after it.
    if (in.AtEnd()) break;
    const absl::string_view name = in.Token();
    if (name.empty()) return Error("expected a parameter name after ';'", in.offset());
    RETURN_IF_ERROR(in.SkipSpaceAndComments());
    if (in.AtEnd() || in.Peek() != '=') {
      return Error(absl::StrCat("expected '=' after parameter ", QuoteForError(name)), in.offset());
    }
    in.Skip();
    RETURN_IF_ERROR(in.SkipSpaceAndComments());
    std::string param_value;
    if (!in.AtEnd() && in.Peek() == '"') {
      ASSIGN_OR_RETURN(param_value, in.QuotedString());
    } else {
      const absl::string_view token = in.Token();
      if (token.empty()) {
        return Error(absl::StrCat("expected a value for parameter ", QuoteForError(name)),
                     in.offset());
      }
      param_value = std::string(token);
    }
    result.params.emplace_back(absl::AsciiStrToLower(name), std::move(param_value));
  }
  return result;
}

absl::StatusOr<ContentType> ContentTypeOf(const MimeEntity& entity) {
  const HeaderField* field = entity.Find("Content-Type");
  if (field == nullptr) {
    // RFC 2045 §5.2.
    return ContentType{.type = "text", .subtype = "plain", .params = {{"charset", "us-ascii"}}};
  }
  return ParseContentType(field->value);
}

}  // namespace signet::cms
