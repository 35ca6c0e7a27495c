// Line scanning and error quoting shared by the MIME parsers in this
// directory; not part of the API (see mime.h).
#ifndef SIGNET_APPLIANCE_CMS_MIME_INTERNAL_H_
#define SIGNET_APPLIANCE_CMS_MIME_INTERNAL_H_

#include <cstddef>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace signet::cms::mime_internal {

// CountBareLineFeeds without its AVX2 kernel (SSE2 and words), for tests
// that hold both to the same counts on a CPU that has AVX2.
std::size_t CountBareLineFeedsWithoutAvx2(absl::string_view text);

inline bool IsWsp(char c) { return c == ' ' || c == '\t'; }

// One line of a text as offsets: [begin, end) includes its line break, which
// is LF or CRLF; a last line without LF ends at the end of the text.
struct Line {
  std::size_t begin;
  std::size_t content_end;  // before the line break
  std::size_t end;          // after the line break
};

// The line starting at `begin` (<= text.size()). Costs the line's length.
inline Line LineAt(absl::string_view text, std::size_t begin) {
  const std::size_t lf = text.find('\n', begin);
  if (lf == absl::string_view::npos) return {begin, text.size(), text.size()};
  const std::size_t content_end = (lf > begin && text[lf - 1] == '\r') ? lf - 1 : lf;
  return {begin, content_end, lf + 1};
}

inline absl::string_view LineContent(absl::string_view text, const Line& line) {
  return text.substr(line.begin, line.content_end - line.begin);
}

// Where the line break just before the line at `line_begin` starts, not
// going below `floor` (a line at the floor has no line break before it in
// the range). RFC 2046 gives that line break to the delimiter that follows.
inline std::size_t LineBreakBefore(absl::string_view text, std::size_t line_begin,
                                   std::size_t floor) {
  if (line_begin <= floor) return line_begin;
  // line_begin > floor >= 0 is the start of a line, so text[line_begin - 1]
  // is its LF.
  if (line_begin - 1 > floor && text[line_begin - 2] == '\r') return line_begin - 2;
  return line_begin - 1;
}

// A short piece of the input (a field or parameter name, a boundary) for an
// error message: escaped and cut to a few dozen bytes, since mail content
// may be confidential and errors travel to logs and clients.
inline std::string QuoteForError(absl::string_view s) {
  constexpr std::size_t kMaxQuoted = 40;
  if (s.size() <= kMaxQuoted) return absl::StrCat("\"", absl::CHexEscape(s), "\"");
  return absl::StrCat("\"", absl::CHexEscape(s.substr(0, kMaxQuoted)), "\"...");
}

}  // namespace signet::cms::mime_internal

#endif  // SIGNET_APPLIANCE_CMS_MIME_INTERNAL_H_
