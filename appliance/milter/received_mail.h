// One mail as the milter receives it from the MTA, and what the milter
// answers: the data between libmilter's callbacks (milter_callbacks.cc) and
// the policy that decides (mail_handler.h), so that the decision can be
// tested without an MTA.
#ifndef SIGNET_APPLIANCE_MILTER_RECEIVED_MAIL_H_
#define SIGNET_APPLIANCE_MILTER_RECEIVED_MAIL_H_

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "appliance/milter/message_rewrite.h"

namespace signet::milter {

struct ReceivedMail {
  // The MTA's queue id (macro "i"), for the log line.
  std::string queue_id;
  // The envelope: MAIL FROM and each RCPT TO, without the angle brackets.
  std::string sender;
  std::vector<std::string> recipients;
  // Header fields in order, as libmilter gives them: the name, and the value
  // after the colon with its folding.
  std::vector<HeaderField> headers;
  // The body, CRLF line ends, as the MTA sends it.
  std::string body;
  // More than the configured maximum arrived; `body` stopped growing.
  bool oversized = false;
};

// A header change, in the order libmilter is to apply them.
struct HeaderOperation {
  enum class Kind {
    kDelete,  // the index-th (from 1) field called name
    kChange,  // the index-th (from 1) field called name gets value
    kAdd,     // name: value, appended
    kInsert,  // name: value, at position index (0: first)
  };
  Kind kind = Kind::kAdd;
  std::string name;
  int index = 0;
  std::string value;
};

struct MilterAnswer {
  enum class Action {
    kAccept,      // deliver, with the changes below
    kTempFail,    // 4xx: the MTA keeps the mail and retries
    kReject,      // 5xx: the MTA bounces it (or refuses it in the session)
    kQuarantine,  // accepted into the MTA's hold queue, for an operator
  };
  Action action = Action::kAccept;
  // The SMTP reply for kTempFail and kReject ("451", "4.7.0", "...").
  std::string reply_code;
  std::string extended_code;
  std::string reply_text;
  // kQuarantine: why (shown by postqueue/mailq).
  std::string quarantine_reason;
  std::vector<HeaderOperation> header_operations;
  std::optional<std::string> new_body;
  // The log line's policy and result words ("outbound sign+encrypt",
  // "signed and encrypted to 2"), never the mail's content.
  std::string policy;
  std::string result;
};

using MailHandler = std::function<MilterAnswer(const ReceivedMail&)>;

}  // namespace signet::milter

#endif  // SIGNET_APPLIANCE_MILTER_RECEIVED_MAIL_H_
