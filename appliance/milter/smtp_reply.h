// The text of the SMTP replies signet-milter sets (smfi_setreply) when a
// mail is refused: one line, bounded, safe for libmilter's format (a '%'
// doubled, no control characters), naming what the sender must fix.
#ifndef SIGNET_APPLIANCE_MILTER_SMTP_REPLY_H_
#define SIGNET_APPLIANCE_MILTER_SMTP_REPLY_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace signet::milter {

// RFC 5321 allows 512 octets per reply line, code and CRLF included; the
// text is kept well inside that.
inline constexpr size_t kMaxReplyText = 400;

// "a@x.example, b@y.example and 998 more": as many of `recipients` as fit in
// `budget` characters (each made ReplySafe), then how many were left out,
// `unnamed` more included (recipients known only by their number, as when
// signetd's list was cut short). "3 recipients" when none fits.
std::string NameRecipients(const std::vector<std::string>& recipients, size_t unnamed,
                           size_t budget);

// "policy requires encryption; no S/MIME certificate for a@x.example,
// b@y.example and 998 more": NameRecipients within kMaxReplyText. The reply
// code (550 5.7.1) is the caller's.
std::string MissingCertificateReply(const std::vector<std::string>& recipients, size_t unnamed = 0);

// "message too large for signet-milter (limit 52428800 bytes)".
std::string TooLargeReply(uint64_t max_message_bytes);

// `text` with each '%' doubled and each control character replaced by '?',
// as smfi_setreply needs it.
std::string ReplySafe(absl::string_view text);

}  // namespace signet::milter

#endif  // SIGNET_APPLIANCE_MILTER_SMTP_REPLY_H_
