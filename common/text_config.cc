#include "common/text_config.h"

#include <errno.h>
#include <fcntl.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/text_format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/unique_fd.h"

namespace signet {
namespace {

namespace io = google::protobuf::io;

// --- reading the file ----------------------------------------------------

absl::Status TooLarge(absl::string_view name, absl::string_view what) {
  return absl::FailedPreconditionError(
      absl::StrCat(name, ": larger than ", kMaxConfigBytes / 1024, " KiB; not ", what));
}

}  // namespace

absl::StatusOr<std::string> ReadConfigFile(const std::string& path, absl::string_view what) {
  // O_NONBLOCK: opening a FIFO named by mistake must not hang start-up; it is
  // refused below as not a regular file.
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat(path, ": cannot open the config"));
  }
  struct stat st;
  if (fstat(fd.get(), &st) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat(path, ": cannot stat the config"));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": not a regular file"));
  }
  if (static_cast<std::size_t>(st.st_size) > kMaxConfigBytes) return TooLarge(path, what);

  // Read up to one byte more than allowed, so that a file that grew since
  // fstat is still refused instead of silently cut.
  std::string contents(kMaxConfigBytes + 1, '\0');
  std::size_t filled = 0;
  while (filled < contents.size()) {
    ssize_t n = read(fd.get(), contents.data() + filled, contents.size() - filled);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, absl::StrCat(path, ": cannot read the config"));
    }
    if (n == 0) break;
    filled += static_cast<std::size_t>(n);
  }
  if (filled > kMaxConfigBytes) return TooLarge(path, what);
  contents.resize(filled);
  return contents;
}

namespace {

// --- positions -------------------------------------------------------------

// A position in the text: 0-based line and 0-based byte column.
struct Position {
  int line = 0;
  int column = 0;

  friend bool operator<(const Position& a, const Position& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  }
};

class TextLines {
 public:
  explicit TextLines(absl::string_view text) : text_(text) {
    starts_.push_back(0);
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') starts_.push_back(i + 1);
    }
  }

  // The line without its newline; empty past the end.
  absl::string_view Line(int line) const {
    if (line < 0 || static_cast<std::size_t>(line) >= starts_.size()) return {};
    std::size_t begin = starts_[line];
    std::size_t end =
        static_cast<std::size_t>(line) + 1 < starts_.size() ? starts_[line + 1] - 1 : text_.size();
    return text_.substr(begin, end - begin);
  }

  std::size_t Offset(Position p) const { return starts_[p.line] + p.column; }

 private:
  absl::string_view text_;
  std::vector<std::size_t> starts_;
};

// io::Tokenizer reports columns with tabs expanded to the next multiple of
// 8 (its private kTabWidth); editors and `cut` count bytes. Maps the former
// to the latter on `line`.
constexpr int kTokenizerTabWidth = 8;

int ByteColumn(absl::string_view line, int visual_column) {
  int visual = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (visual >= visual_column) return static_cast<int>(i);
    if (line[i] == '\t') {
      visual += kTokenizerTabWidth - visual % kTokenizerTabWidth;
    } else {
      ++visual;
    }
  }
  return static_cast<int>(line.size()) + std::max(0, visual_column - visual);
}

// --- tokens ----------------------------------------------------------------

struct Token {
  Position position;
  io::Tokenizer::TokenType type;
  std::string text;
};

class IgnoreErrors : public io::ErrorCollector {
 public:
  void AddError(int, io::ColumnNumber, const std::string&) override {}
};

// Configured as TextFormat's parser configures its own tokenizer, so that
// both see the same tokens.
void ConfigureLikeTextFormat(io::Tokenizer& tokenizer) {
  tokenizer.set_allow_f_after_float(true);
  tokenizer.set_comment_style(io::Tokenizer::SH_COMMENT_STYLE);
}

// Every token of `text`. Tokenizer errors are left to the parser, which
// meets them again and reports them.
std::vector<Token> Tokenize(absl::string_view text, const TextLines& lines) {
  io::ArrayInputStream input(text.data(), static_cast<int>(text.size()));
  IgnoreErrors ignore;
  io::Tokenizer tokenizer(&input, &ignore);
  ConfigureLikeTextFormat(tokenizer);
  std::vector<Token> tokens;
  while (tokenizer.Next()) {
    const io::Tokenizer::Token& t = tokenizer.current();
    tokens.push_back({{t.line, ByteColumn(lines.Line(t.line), t.column)}, t.type, t.text});
  }
  return tokens;
}

// TextFormat's parser stops at the first error. To report more, the text is
// cut into its top-level fields ("tokens { ... }", "limits { ... }") and each
// is parsed on its own: an error in one does not hide those in the next.
// Returns the index of the first token of each field. A field starts with an
// identifier at nesting depth 0 that is not a value (after ':' or '-').
std::vector<std::size_t> TopLevelFieldStarts(const std::vector<Token>& tokens) {
  std::vector<std::size_t> starts;
  int depth = 0;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const Token& t = tokens[i];
    if (i == 0) {
      starts.push_back(0);
    } else if (depth == 0 && t.type == io::Tokenizer::TYPE_IDENTIFIER &&
               tokens[i - 1].text != ":" && tokens[i - 1].text != "-") {
      starts.push_back(i);
    }
    if (t.type != io::Tokenizer::TYPE_SYMBOL) continue;
    if (t.text == "{" || t.text == "<" || t.text == "[") {
      ++depth;
    } else if (t.text == "}" || t.text == ">" || t.text == "]") {
      // A stray closer stays in the field it follows, whose parse reports it.
      depth = std::max(0, depth - 1);
    }
  }
  return starts;
}

// --- errors ----------------------------------------------------------------

struct ParseError {
  Position position;
  std::string message;
};

// TextFormat reports some errors at the token after the one at fault: an
// unknown field name, an unknown enum value, a repeated singular field, a
// bad boolean, a second member of a oneof. An error that quotes the
// identifier just before its position is moved back to that identifier, so
// that "x: 1" with an unknown x points at x and not at the colon, or at the
// next line when the value ends one.
Position Blame(const std::vector<Token>& tokens, Position reported, const std::string& message) {
  auto next = std::lower_bound(tokens.begin(), tokens.end(), reported,
                               [](const Token& t, const Position& p) { return t.position < p; });
  if (next == tokens.begin()) return reported;
  const Token& previous = *std::prev(next);
  if (previous.type == io::Tokenizer::TYPE_IDENTIFIER &&
      absl::StrContains(message, absl::StrCat("\"", previous.text, "\""))) {
    return previous.position;
  }
  return reported;
}

// Receives the errors of one top-level field's parse, whose positions are
// relative to the field's text, and records them in the whole text's terms.
class FieldErrorCollector : public io::ErrorCollector {
 public:
  FieldErrorCollector(const TextLines& lines, const std::vector<Token>& tokens, Position start,
                      std::vector<ParseError>& errors)
      : lines_(lines), tokens_(tokens), start_(start), errors_(errors) {}

  void AddError(int line, io::ColumnNumber column, const std::string& message) override {
    Position reported{start_.line + line, 0};
    absl::string_view text = lines_.Line(reported.line);
    // The field's first line starts mid-line in the whole text.
    int base = line == 0 ? start_.column : 0;
    reported.column =
        base + ByteColumn(text.substr(std::min<std::size_t>(base, text.size())), column);
    errors_.push_back({Blame(tokens_, reported, message), message});
  }

  // Warnings are the unknown fields that AllowUnknownField lets through so
  // that parsing goes on; they are errors all the same (docs/architecture.md, decision D9).
  void AddWarning(int line, io::ColumnNumber column, const std::string& message) override {
    AddError(line, column, message);
  }

 private:
  const TextLines& lines_;
  const std::vector<Token>& tokens_;
  const Position start_;
  std::vector<ParseError>& errors_;
};

absl::Status ErrorStatus(absl::string_view name, std::vector<ParseError> errors) {
  std::stable_sort(errors.begin(), errors.end(), [](const ParseError& a, const ParseError& b) {
    return a.position < b.position;
  });
  std::vector<std::string> lines;
  for (const ParseError& e : errors) {
    if (lines.size() == kMaxParseErrors) {
      lines.push_back(absl::StrCat(name, ": more errors follow; fix these first"));
      break;
    }
    lines.push_back(
        absl::StrCat(name, ":", e.position.line + 1, ":", e.position.column + 1, ": ", e.message));
  }
  return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
}

}  // namespace

absl::Status ParseTextConfig(absl::string_view text, absl::string_view name_for_errors,
                             absl::string_view what, google::protobuf::Message& message) {
  message.Clear();
  if (text.size() > kMaxConfigBytes) return TooLarge(name_for_errors, what);
  const TextLines lines(text);
  const std::vector<Token> tokens = Tokenize(text, lines);
  const std::vector<std::size_t> starts = TopLevelFieldStarts(tokens);

  std::vector<ParseError> errors;
  std::set<std::string> singular_fields_seen;
  // The first part starts at the very beginning, so that whatever the
  // tokenizer skipped before the first token (control characters) is still
  // reported; an empty or comment-only text is one empty part.
  const std::size_t parts = std::max<std::size_t>(starts.size(), 1);
  for (std::size_t i = 0; i < parts && errors.size() <= kMaxParseErrors; ++i) {
    const Position start = i == 0 ? Position{} : tokens[starts[i]].position;
    const std::size_t begin = lines.Offset(start);
    const std::size_t end =
        i + 1 < starts.size() ? lines.Offset(tokens[starts[i + 1]].position) : text.size();

    // Each field is parsed alone, so the parser cannot see that a singular
    // one (limits, audit, ...) is given twice; say it as it would.
    bool repeated_singular = false;
    if (i < starts.size()) {
      const Token& first = tokens[starts[i]];
      const google::protobuf::FieldDescriptor* field =
          message.GetDescriptor()->FindFieldByName(first.text);
      if (field != nullptr && !field->is_repeated() &&
          !singular_fields_seen.insert(first.text).second) {
        errors.push_back({first.position, absl::StrCat("Non-repeated field \"", first.text,
                                                       "\" is specified multiple times.")});
        repeated_singular = true;
      }
    }

    google::protobuf::TextFormat::Parser parser;
    FieldErrorCollector collector(lines, tokens, start, errors);
    parser.RecordErrorsTo(&collector);
    parser.AllowUnknownField(true);
    io::ArrayInputStream input(text.data() + begin, static_cast<int>(end - begin));
    std::unique_ptr<google::protobuf::Message> part(message.New());
    if (parser.Parse(&input, part.get()) && !repeated_singular) message.MergeFrom(*part);
  }
  if (!errors.empty()) return ErrorStatus(name_for_errors, std::move(errors));
  return absl::OkStatus();
}

}  // namespace signet
