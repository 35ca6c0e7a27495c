// SMTP submission for a load generator: one mail per session, as
// fixtures::SendMail does, but the message is dot-stuffed once (DotStuff)
// and then sent by every session as it is. fixtures::SendMail stuffs the
// message byte by byte on each call, in the fixtures' unoptimised build
// (-O0): in a trial run that was about 70% of the bench process's CPU at
// 1 MiB, and the bench process took more CPU per mail than Postfix, on the
// machine being measured.
#ifndef SIGNET_TESTS_BENCH_SMTP_SUBMIT_H_
#define SIGNET_TESTS_BENCH_SMTP_SUBMIT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/fixtures/smtp_client.h"

namespace signet::bench {

// `message` dot-stuffed (RFC 5321 section 4.5.2), ending in CRLF "." CRLF
// (a CRLF is added first if it does not end in a line break).
std::string DotStuff(absl::string_view message);

// Connects to 127.0.0.1:port and sends EHLO, MAIL FROM:<from>, RCPT
// TO:<to>, DATA, `stuffed` (from DotStuff) and QUIT. Returns the reply to
// the final dot, or the first reply that refused a step. Errors: as
// fixtures::SendMail.
absl::StatusOr<fixtures::SmtpReply> SubmitStuffed(int port, absl::string_view from,
                                                  absl::string_view to, absl::string_view stuffed,
                                                  absl::Duration timeout);

}  // namespace signet::bench

#endif  // SIGNET_TESTS_BENCH_SMTP_SUBMIT_H_
