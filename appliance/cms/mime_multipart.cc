// SplitMultipart: a multipart body cut at its delimiter lines (RFC 2046
// §5.1.1), the parts returned as views of their exact bytes.
#include <string.h>

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "appliance/cms/mime.h"
#include "appliance/cms/mime_internal.h"
#include "common/status_macros.h"

namespace signet::cms {
namespace {

using mime_internal::IsWsp;
using mime_internal::Line;
using mime_internal::LineAt;
using mime_internal::LineBreakBefore;
using mime_internal::LineContent;
using mime_internal::QuoteForError;

// RFC 2046 §5.1.1.
constexpr std::size_t kMaxBoundaryLength = 70;

absl::Status CheckBoundary(absl::string_view boundary) {
  if (boundary.empty()) return absl::InvalidArgumentError("multipart boundary is empty");
  if (boundary.size() > kMaxBoundaryLength) {
    return absl::InvalidArgumentError(
        absl::StrFormat("multipart boundary %s is %d characters long (at most %d allowed)",
                        QuoteForError(boundary), boundary.size(), kMaxBoundaryLength));
  }
  // Stricter than needed for splitting, looser than RFC 2046's bchars: a
  // control character or line break in a boundary is never legitimate, and a
  // trailing space could not be told from transport padding.
  for (char c : boundary) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 32 || u >= 127) {
      return absl::InvalidArgumentError(
          absl::StrFormat("multipart boundary %s contains byte 0x%02x (allowed: printable ASCII)",
                          QuoteForError(boundary), u));
    }
  }
  if (boundary.back() == ' ') {
    return absl::InvalidArgumentError(
        absl::StrCat("multipart boundary ", QuoteForError(boundary), " ends in a space"));
  }
  return absl::OkStatus();
}

enum class Delimiter { kNone, kOpen, kClose };

// "--" boundary ["--"] transport-padding, nothing else on the line: a line
// that merely starts with the delimiter ("--abcd" for boundary "abc") is
// content. Costs at most the boundary's length plus the line's.
Delimiter Classify(absl::string_view line, absl::string_view boundary) {
  if (!absl::StartsWith(line, "--")) return Delimiter::kNone;
  line.remove_prefix(2);
  if (!absl::StartsWith(line, boundary)) return Delimiter::kNone;
  line.remove_prefix(boundary.size());
  Delimiter kind = Delimiter::kOpen;
  if (absl::StartsWith(line, "--")) {
    kind = Delimiter::kClose;
    line.remove_prefix(2);
  }
  for (char c : line) {
    if (!IsWsp(c)) return Delimiter::kNone;
  }
  return kind;
}

// Where the first line at or after `pos` (a line start) that starts with
// `prefix` begins, or npos.
std::size_t FindLineStartingWith(absl::string_view text, std::size_t pos,
                                 absl::string_view prefix) {
  while (pos < text.size()) {
    const void* hit = memmem(text.data() + pos, text.size() - pos, prefix.data(), prefix.size());
    if (hit == nullptr) return absl::string_view::npos;
    const auto at = static_cast<std::size_t>(static_cast<const char*>(hit) - text.data());
    if (at == pos || text[at - 1] == '\n') return at;
    // Inside a line: go on after the line's break, the next line start.
    const std::size_t line_feed = text.find('\n', at);
    if (line_feed == absl::string_view::npos) return absl::string_view::npos;
    pos = line_feed + 1;
  }
  return absl::string_view::npos;
}

}  // namespace

absl::StatusOr<Multipart> SplitMultipart(absl::string_view body, absl::string_view boundary,
                                         const Limits& limits) {
  if (body.size() > limits.max_message_bytes) {
    return absl::InvalidArgumentError(
        absl::StrFormat("multipart body of %d bytes is larger than the limit of %d bytes",
                        body.size(), limits.max_message_bytes));
  }
  RETURN_IF_ERROR(CheckBoundary(boundary));

  Multipart result;
  bool opened = false;
  std::size_t part_begin = 0;
  std::size_t pos = 0;
  // Only a line that starts with "--" boundary can be a delimiter, so the
  // body is searched for that text rather than walked a line at a time: a
  // large signed mail has hundreds of thousands of lines and one or two
  // delimiters.
  const std::string dashed = absl::StrCat("--", boundary);
  while (pos < body.size()) {
    const std::size_t found = FindLineStartingWith(body, pos, dashed);
    if (found == absl::string_view::npos) break;
    const Line line = LineAt(body, found);
    pos = line.end;
    const Delimiter kind = Classify(LineContent(body, line), boundary);
    if (kind == Delimiter::kNone) continue;
    if (!opened) {
      if (kind == Delimiter::kClose) {
        return absl::InvalidArgumentError(absl::StrCat(
            "multipart boundary ", QuoteForError(boundary), ": closing delimiter before any part"));
      }
      result.preamble = body.substr(0, LineBreakBefore(body, line.begin, 0));
      opened = true;
    } else {
      if (result.parts.size() >= static_cast<std::size_t>(limits.max_parts)) {
        return absl::InvalidArgumentError(
            absl::StrFormat("multipart boundary %s: more than %d parts", QuoteForError(boundary),
                            limits.max_parts));
      }
      const std::size_t part_end = LineBreakBefore(body, line.begin, part_begin);
      result.parts.push_back(body.substr(part_begin, part_end - part_begin));
      if (kind == Delimiter::kClose) {
        result.epilogue = body.substr(line.end);
        return result;
      }
    }
    part_begin = line.end;
  }
  if (!opened) {
    return absl::InvalidArgumentError(absl::StrCat("multipart boundary ", QuoteForError(boundary),
                                                   ": no delimiter line in the body"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("multipart boundary ", QuoteForError(boundary),
                   ": no closing delimiter line (\"--\" boundary \"--\")"));
}

}  // namespace signet::cms
