#include "appliance/cms/mailbox_list.h"

#include <cstddef>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"

namespace signet::cms {
namespace {

bool IsWsp(char c) { return c == ' ' || c == '\t'; }

// RFC 5322 §3.2.3 atext.
bool IsAtext(char c) {
  if (absl::ascii_isalnum(static_cast<unsigned char>(c))) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '/':
    case '=':
    case '?':
    case '^':
    case '_':
    case '`':
    case '{':
    case '|':
    case '}':
    case '~':
      return true;
    default:
      return false;
  }
}

// Printable ASCII, '!' to '~'.
bool IsVchar(char c) { return c >= 0x21 && c <= 0x7e; }

bool IsDotAtom(absl::string_view text) {
  if (text.empty() || text.front() == '.' || text.back() == '.') return false;
  char previous = 0;
  for (char c : text) {
    if (c == '.' ? previous == '.' : !IsAtext(c)) return false;
    previous = c;
  }
  return true;
}

// A word of a display name or local part, or an obsolete dot between them.
struct Item {
  bool dot = false;
  std::string text;           // a word's value (a quoted string without quotes)
  bool space_before = false;  // whitespace or a comment came before it
};

class Reader {
 public:
  explicit Reader(absl::string_view in) : in_(in) {}

  bool AtEnd() const { return pos_ >= in_.size(); }
  char Peek() const { return in_[pos_]; }
  void Advance() { ++pos_; }

  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrFormat("at byte %d: %s", pos_ + 1, what));
  }
  absl::Status Unexpected(absl::string_view context) const {
    if (AtEnd()) return Error(absl::StrCat("the field ends ", context));
    return Error(absl::StrFormat("unexpected '%c' %s", Peek(), context));
  }

  // Every byte is printable ASCII, a space or tab, or part of a CRLF; what
  // is left is for the grammar to judge.
  absl::Status CheckBytes() const {
    for (std::size_t i = 0; i < in_.size(); ++i) {
      const unsigned char c = static_cast<unsigned char>(in_[i]);
      if (c == 0) return AtError(i, "NUL byte");
      if (c >= 0x80) {
        return AtError(i,
                       "8-bit byte (write a display name in other scripts as an RFC 2047 "
                       "encoded word; UTF-8 addresses are not accepted)");
      }
      if (c < 0x20 && c != '\t' && c != '\r' && c != '\n') {
        return AtError(i, absl::StrFormat("control character 0x%02x", c));
      }
      if (c == 0x7f) return AtError(i, "control character 0x7f");
    }
    return absl::OkStatus();
  }

  // CFWS: spaces, tabs, folding line breaks and (nested) comments. Sets
  // *skipped when it skipped anything.
  absl::Status SkipCfws(bool* skipped = nullptr) {
    const std::size_t start = pos_;
    while (!AtEnd()) {
      if (IsWsp(Peek())) {
        Advance();
      } else if (Peek() == '\r' || Peek() == '\n') {
        RETURN_IF_ERROR(SkipFold());
      } else if (Peek() == '(') {
        RETURN_IF_ERROR(SkipComment());
      } else {
        break;
      }
    }
    if (skipped != nullptr) *skipped = pos_ != start;
    return absl::OkStatus();
  }

  // Words and obsolete dots, each after optional CFWS, up to the first byte
  // that is neither.
  absl::StatusOr<std::vector<Item>> Items() {
    std::vector<Item> items;
    while (true) {
      Item item;
      RETURN_IF_ERROR(SkipCfws(&item.space_before));
      if (AtEnd()) break;
      if (Peek() == '.') {
        Advance();
        item.dot = true;
      } else if (Peek() == '"') {
        ASSIGN_OR_RETURN(item.text, QuotedString());
      } else if (IsAtext(Peek())) {
        item.text = Atom();
      } else {
        break;
      }
      items.push_back(std::move(item));
    }
    return items;
  }

  // addr-spec's domain, after the '@': dot-atom, obsolete atoms with CFWS
  // around the dots, or a domain literal. Skips the CFWS after it.
  absl::StatusOr<std::string> Domain() {
    RETURN_IF_ERROR(SkipCfws());
    if (!AtEnd() && Peek() == '[') {
      ASSIGN_OR_RETURN(std::string literal, DomainLiteral());
      RETURN_IF_ERROR(SkipCfws());
      return literal;
    }
    std::string domain;
    while (true) {
      if (AtEnd() || !IsAtext(Peek())) return Unexpected("where a domain name was expected");
      domain += Atom();
      RETURN_IF_ERROR(SkipCfws());
      if (AtEnd() || Peek() != '.') return domain;
      Advance();
      domain += '.';
      RETURN_IF_ERROR(SkipCfws());
    }
  }

 private:
  absl::Status AtError(std::size_t at, absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrFormat("at byte %d: %s", at + 1, what));
  }

  // CRLF followed by a space or tab; any other line break is an error.
  absl::Status SkipFold() {
    if (in_.substr(pos_, 2) == "\r\n" && pos_ + 2 < in_.size() && IsWsp(in_[pos_ + 2])) {
      pos_ += 2;
      return absl::OkStatus();
    }
    return Error("line break that does not continue the field (CRLF and a space or tab)");
  }

  // At '(': a comment, with nested comments and quoted pairs.
  absl::Status SkipComment() {
    int depth = 0;
    do {
      if (AtEnd()) return Error("unterminated comment");
      const char c = Peek();
      if (c == '(') {
        ++depth;
        Advance();
      } else if (c == ')') {
        --depth;
        Advance();
      } else if (c == '\\') {
        RETURN_IF_ERROR(SkipQuotedPair());
      } else if (c == '\r' || c == '\n') {
        RETURN_IF_ERROR(SkipFold());
      } else {
        Advance();  // ctext or whitespace; CheckBytes refused the rest
      }
    } while (depth > 0);
    return absl::OkStatus();
  }

  // At '\': the escaped character, which must be printable or a space.
  absl::StatusOr<char> QuotedPair() {
    Advance();
    if (AtEnd() || !(IsVchar(Peek()) || IsWsp(Peek()))) {
      return Error("a backslash must escape a printable character or a space");
    }
    const char c = Peek();
    Advance();
    return c;
  }
  absl::Status SkipQuotedPair() { return QuotedPair().status(); }

  // 1*atext.
  std::string Atom() {
    const std::size_t start = pos_;
    while (!AtEnd() && IsAtext(Peek())) Advance();
    return std::string(in_.substr(start, pos_ - start));
  }

  // At '"': the quoted string's value, escapes and folds undone.
  absl::StatusOr<std::string> QuotedString() {
    Advance();
    std::string value;
    while (true) {
      if (AtEnd()) return Error("unterminated quoted string");
      const char c = Peek();
      if (c == '"') {
        Advance();
        return value;
      }
      if (c == '\\') {
        ASSIGN_OR_RETURN(char escaped, QuotedPair());
        value.push_back(escaped);
      } else if (c == '\r' || c == '\n') {
        RETURN_IF_ERROR(SkipFold());
      } else {
        value.push_back(c);
        Advance();
      }
    }
  }

  // At '[': "[" *([FWS] dtext) [FWS] "]", kept with its brackets and
  // without the whitespace.
  absl::StatusOr<std::string> DomainLiteral() {
    std::string literal = "[";
    Advance();
    while (true) {
      if (AtEnd()) return Error("unterminated domain literal");
      const char c = Peek();
      if (c == ']') {
        Advance();
        return literal + ']';
      }
      if (IsWsp(c)) {
        Advance();
      } else if (c == '\r' || c == '\n') {
        RETURN_IF_ERROR(SkipFold());
      } else if (c == '[' || c == '\\') {
        return Error(absl::StrFormat("'%c' inside a domain literal", c));
      } else {
        literal.push_back(c);
        Advance();
      }
    }
  }

  absl::string_view in_;
  std::size_t pos_ = 0;
};

// word *("." word), with the obsolete CFWS around the dots.
absl::StatusOr<std::string> LocalPart(const std::vector<Item>& items, const Reader& reader) {
  if (items.empty()) return reader.Error("'@' without a local part before it");
  std::string local;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const bool want_word = i % 2 == 0;
    if (items[i].dot == want_word) {
      return reader.Error(want_word ? "a local part with an empty word between dots"
                                    : "words of a local part not separated by dots (a display "
                                      "name needs an address in angle brackets)");
    }
    local += items[i].dot ? "." : items[i].text;
  }
  if (items.back().dot) return reader.Error("a local part that ends with a dot");
  return local;
}

// addr-spec, from the local part's words already read and the reader at the
// '@'; the CFWS after the domain is skipped.
absl::StatusOr<Mailbox> AddrSpec(const std::vector<Item>& local_words, Reader& reader) {
  Mailbox mailbox;
  ASSIGN_OR_RETURN(mailbox.local_part, LocalPart(local_words, reader));
  reader.Advance();
  ASSIGN_OR_RETURN(mailbox.domain, reader.Domain());
  return mailbox;
}

// phrase = 1*word / obs-phrase (word *(word / "." / CFWS)); may be absent.
absl::StatusOr<std::string> DisplayName(const std::vector<Item>& items, const Reader& reader) {
  if (items.empty()) return std::string();
  if (items.front().dot) return reader.Error("a display name that starts with a dot");
  std::string name;
  for (const Item& item : items) {
    if (!name.empty() && item.space_before) name += ' ';
    name += item.dot ? "." : item.text;
  }
  return name;
}

// At '<': angle-addr or obs-angle-addr (a route before the addr-spec).
absl::StatusOr<Mailbox> AngleAddr(Reader& reader) {
  reader.Advance();
  RETURN_IF_ERROR(reader.SkipCfws());
  if (!reader.AtEnd() && (reader.Peek() == '@' || reader.Peek() == ',')) {
    // obs-route: *(CFWS / ",") "@" domain *("," [CFWS] ["@" domain]) ":"
    bool any_domain = false;
    while (true) {
      RETURN_IF_ERROR(reader.SkipCfws());
      if (reader.AtEnd()) return reader.Unexpected("inside a route");
      if (reader.Peek() == ',') {
        reader.Advance();
      } else if (reader.Peek() == '@') {
        reader.Advance();
        ASSIGN_OR_RETURN(std::string domain, reader.Domain());
        any_domain = true;
      } else if (reader.Peek() == ':' && any_domain) {
        reader.Advance();
        break;
      } else {
        return reader.Unexpected("inside a route");
      }
    }
  }
  ASSIGN_OR_RETURN(std::vector<Item> items, reader.Items());
  if (reader.AtEnd() || reader.Peek() != '@') {
    return reader.Unexpected(items.empty() ? "where an address was expected after '<'"
                                           : "in an address (no '@')");
  }
  ASSIGN_OR_RETURN(Mailbox mailbox, AddrSpec(items, reader));
  if (reader.AtEnd() || reader.Peek() != '>') return reader.Unexpected("where '>' was expected");
  reader.Advance();
  RETURN_IF_ERROR(reader.SkipCfws());
  return mailbox;
}

// mailbox = name-addr / addr-spec, and the CFWS after it.
absl::StatusOr<Mailbox> ReadMailbox(Reader& reader) {
  ASSIGN_OR_RETURN(std::vector<Item> items, reader.Items());
  if (reader.AtEnd()) {
    return reader.Error(items.empty() ? "no address" : "no '@' or '<' in the address");
  }
  switch (reader.Peek()) {
    case '<': {
      ASSIGN_OR_RETURN(std::string name, DisplayName(items, reader));
      ASSIGN_OR_RETURN(Mailbox mailbox, AngleAddr(reader));
      mailbox.display_name = std::move(name);
      return mailbox;
    }
    case '@':
      return AddrSpec(items, reader);
    case ':':
      return reader.Error("a group (\"name: addresses;\") is not a mailbox");
    default:
      return reader.Unexpected("in an address");
  }
}

absl::Status InField(absl::string_view what, const absl::Status& status) {
  return absl::InvalidArgumentError(absl::StrCat("not a ", what, ": ", status.message()));
}

}  // namespace

std::string Mailbox::AddrSpec() const {
  if (IsDotAtom(local_part)) return absl::StrCat(local_part, "@", domain);
  std::string quoted = "\"";
  for (char c : local_part) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return absl::StrCat(quoted, "\"@", domain);
}

absl::StatusOr<std::vector<Mailbox>> ParseMailboxList(absl::string_view value) {
  Reader reader(value);
  if (absl::Status s = reader.CheckBytes(); !s.ok()) return InField("mailbox list", s);
  std::vector<Mailbox> mailboxes;
  // obs-mbox-list: empty elements between commas are skipped.
  while (true) {
    if (absl::Status s = reader.SkipCfws(); !s.ok()) return InField("mailbox list", s);
    if (reader.AtEnd()) break;
    if (reader.Peek() == ',') {
      reader.Advance();
      continue;
    }
    absl::StatusOr<Mailbox> mailbox = ReadMailbox(reader);
    if (!mailbox.ok()) return InField("mailbox list", mailbox.status());
    mailboxes.push_back(*std::move(mailbox));
    if (reader.AtEnd()) break;
    if (reader.Peek() != ',') {
      return InField("mailbox list",
                     reader.Unexpected(absl::StrCat("after the address <",
                                                    mailboxes.back().AddrSpec().substr(0, 254),
                                                    "> (addresses are separated by ',')")));
    }
    reader.Advance();
  }
  if (mailboxes.empty()) return absl::InvalidArgumentError("not a mailbox list: no address");
  return mailboxes;
}

absl::StatusOr<Mailbox> ParseMailbox(absl::string_view value) {
  Reader reader(value);
  if (absl::Status s = reader.CheckBytes(); !s.ok()) return InField("mailbox", s);
  if (absl::Status s = reader.SkipCfws(); !s.ok()) return InField("mailbox", s);
  absl::StatusOr<Mailbox> mailbox = ReadMailbox(reader);
  if (!mailbox.ok()) return InField("mailbox", mailbox.status());
  if (!reader.AtEnd()) {
    return InField("mailbox", reader.Unexpected(absl::StrCat(
                                  "after the address <", mailbox->AddrSpec().substr(0, 254),
                                  "> (exactly one address is allowed)")));
  }
  return mailbox;
}

}  // namespace signet::cms
