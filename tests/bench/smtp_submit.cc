#include "tests/bench/smtp_submit.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "tests/fixtures/smtp_io.h"

namespace signet::bench {
namespace {

absl::StatusOr<fixtures::SmtpReply> ReadReply(fixtures::SmtpStream& stream,
                                              absl::string_view command, absl::Duration timeout) {
  fixtures::SmtpReply reply;
  reply.command = std::string(command);
  for (;;) {
    ASSIGN_OR_RETURN(std::string line, stream.ReadLine(timeout));
    const absl::string_view text = absl::StripTrailingAsciiWhitespace(line);
    int code = 0;
    if (text.size() < 3 || !absl::SimpleAtoi(text.substr(0, 3), &code) ||
        (text.size() > 3 && text[3] != ' ' && text[3] != '-')) {
      return absl::DataLossError(absl::StrCat("not an SMTP reply to ", command, ": ", text));
    }
    reply.code = code;
    if (!reply.text.empty()) reply.text += "\n";
    if (text.size() > 4) absl::StrAppend(&reply.text, text.substr(4));
    if (text.size() == 3 || text[3] == ' ') return reply;
  }
}

}  // namespace

std::string DotStuff(absl::string_view message) {
  std::string out;
  out.reserve(message.size() + message.size() / 64 + 8);
  size_t start = 0;
  while (start < message.size()) {
    size_t end = message.find('\n', start);
    end = end == absl::string_view::npos ? message.size() : end + 1;
    if (message[start] == '.') out += '.';
    out.append(message.data() + start, end - start);
    start = end;
  }
  if (!message.empty() && message.back() != '\n') out += "\r\n";
  out += ".\r\n";
  return out;
}

absl::StatusOr<fixtures::SmtpReply> SubmitStuffed(int port, absl::string_view from,
                                                  absl::string_view to, absl::string_view stuffed,
                                                  absl::Duration timeout) {
  ASSIGN_OR_RETURN(UniqueFd fd, fixtures::ConnectLoopback(port));
  fixtures::SmtpStream stream(std::move(fd));
  auto exchange = [&](absl::string_view command,
                      absl::string_view line) -> absl::StatusOr<fixtures::SmtpReply> {
    RETURN_IF_ERROR(stream.Write(line));
    return ReadReply(stream, command, timeout);
  };
  ASSIGN_OR_RETURN(fixtures::SmtpReply reply, ReadReply(stream, "CONNECT", timeout));
  if (reply.code / 100 == 2) {
    ASSIGN_OR_RETURN(reply, exchange("EHLO", "EHLO bench.signet.test\r\n"));
  }
  if (reply.code / 100 == 2) {
    ASSIGN_OR_RETURN(reply, exchange("MAIL", absl::StrCat("MAIL FROM:<", from, ">\r\n")));
  }
  if (reply.code / 100 == 2) {
    ASSIGN_OR_RETURN(reply,
                     exchange(absl::StrCat("RCPT ", to), absl::StrCat("RCPT TO:<", to, ">\r\n")));
  }
  if (reply.code / 100 == 2) {
    ASSIGN_OR_RETURN(reply, exchange("DATA", "DATA\r\n"));
    if (reply.code / 100 == 3) {
      ASSIGN_OR_RETURN(reply, exchange(".", stuffed));
    }
  }
  // Best effort, as a polite client: the result is already known.
  if (stream.Write("QUIT\r\n").ok()) (void)ReadReply(stream, "QUIT", timeout);
  return reply;
}

}  // namespace signet::bench
