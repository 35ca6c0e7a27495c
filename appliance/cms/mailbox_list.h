// The addresses of a From: or Sender: field, read with RFC 5322's grammar
// (section 3.4, with the obsolete forms of section 4.4 that real mail still
// carries: routes, dots and comments inside names and addresses, empty list
// elements). It decides who a mail says it is from, so it refuses what it
// cannot read with certainty instead of guessing: a group, a stray quote or
// angle bracket, text after an address, an unterminated comment, NUL and
// other control characters, and 8-bit bytes (RFC 6532 UTF-8 headers are not
// read; a display name can carry other scripts as RFC 2047 encoded words,
// which are left encoded).
#ifndef SIGNET_APPLIANCE_CMS_MAILBOX_LIST_H_
#define SIGNET_APPLIANCE_CMS_MAILBOX_LIST_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace signet::cms {

struct Mailbox {
  // The display name's words as written, quotes removed, encoded words left
  // encoded, runs of whitespace and comments turned into one space.
  std::string display_name;
  // What the local part means: quotes and backslash escapes removed, and
  // whitespace and comments around obsolete dots dropped, so that
  // "statements"@x and statements@x have the same local part.
  std::string local_part;
  // The domain: dot-separated atoms (case kept; compare ignoring case) or a
  // domain literal with its brackets.
  std::string domain;

  // local_part@domain, the local part quoted where it must be (as in RFC
  // 5322's addr-spec).
  std::string AddrSpec() const;
};

// A field's value as cms::ParseEntity gives it (unfolded) or as written
// (folded with CRLF and whitespace). INVALID_ARGUMENT, saying where and why,
// for anything that is not a mailbox-list.
absl::StatusOr<std::vector<Mailbox>> ParseMailboxList(absl::string_view value);

// Sender: exactly one mailbox.
absl::StatusOr<Mailbox> ParseMailbox(absl::string_view value);

}  // namespace signet::cms

#endif  // SIGNET_APPLIANCE_CMS_MAILBOX_LIST_H_
