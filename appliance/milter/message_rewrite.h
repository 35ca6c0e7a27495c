// Turning the mail the MTA holds into the one signetd returned, through the
// milter's header and body operations (smfi_chgheader, smfi_addheader,
// smfi_replacebody), computed as data so that it is tested without an MTA.
//
// Only the MIME fields (Content-* and MIME-Version) and the body change:
// Message-ID, Date, From, To, Cc, Subject, Received and every other field
// stay where and as they are, whatever signetd's output carries (a
// decrypted mail's inner copies of them included).
//
// Header values are as libmilter delivers them: without "Name:" and the
// blank after it, folding kept (LF or CRLF before the continuation's
// blank).
#ifndef SIGNET_APPLIANCE_MILTER_MESSAGE_REWRITE_H_
#define SIGNET_APPLIANCE_MILTER_MESSAGE_REWRITE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace signet::milter {

struct HeaderField {
  std::string name;
  std::string value;

  friend bool operator==(const HeaderField&, const HeaderField&) = default;
};

struct HeaderChange {
  enum Kind {
    // smfi_chgheader(ctx, name, index, NULL).
    kDelete,
    // smfi_addheader(ctx, name, value): appended after the last field.
    kAdd,
    // smfi_chgheader(ctx, name, index, value): replaced where it is.
    kChange,
  };
  Kind kind = kAdd;
  std::string name;
  // kDelete, kChange: 1-based among the fields named `name` (ignoring
  // case), as libmilter counts.
  int index = 0;
  // kAdd, kChange: folded with LF alone, as libmilter asks (the MTA adds the
  // CR).
  std::string value;

  friend bool operator==(const HeaderChange&, const HeaderChange&) = default;
};

struct Rewrite {
  // In the order they must be applied. Deletions of one name come highest
  // index first, so that each index is right whether or not the MTA counts
  // the fields deleted before it.
  std::vector<HeaderChange> header_changes;
  // smfi_replacebody's content: everything after the output's blank line,
  // CRLF line ends.
  std::string body;
};

// Whether `name` is a MIME field the rewrite replaces (Content-*,
// MIME-Version; ignoring case).
bool IsMimeField(absl::string_view name);

// The changes that turn `original` into `signetd_output`'s MIME fields and
// body. The first original field of each MIME name that the output has too
// is changed in place; the other original MIME fields are deleted, and the
// output's other MIME fields added; "MIME-Version: 1.0" when the output
// lacks it. INVALID_ARGUMENT when the output has no
// header/body separator, a header line that is not a field, or no
// Content-Type (signetd's output always has one; anything else is not to be
// delivered).
absl::StatusOr<Rewrite> ComputeRewrite(const std::vector<HeaderField>& original,
                                       absl::string_view signetd_output);

// The whole message for signetd: each field as "Name: value" with its
// folding turned to CRLF, a blank line, and `body` (which Postfix already
// hands over with CRLF line ends) as it is.
std::string AssembleMessage(const std::vector<HeaderField>& headers, absl::string_view body);

// The fields of an RFC 5322 header block (up to, not including, the blank
// line), values without the blank after the colon and folded with LF.
// INVALID_ARGUMENT for a line that is neither a field nor a continuation.
absl::StatusOr<std::vector<HeaderField>> ParseHeaderBlock(absl::string_view block);

}  // namespace signet::milter

#endif  // SIGNET_APPLIANCE_MILTER_MESSAGE_REWRITE_H_
