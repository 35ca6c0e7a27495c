#include "appliance/milter/milter_callbacks.h"

#include <string.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "appliance/milter/smtp_reply.h"
#include "common/log.h"

namespace signet::milter {
namespace {

const MilterSettings* g_settings = nullptr;

// One SMTP connection's state; one mail at a time.
struct Connection {
  ReceivedMail mail;
  size_t bytes = 0;
};

Connection* ConnectionOf(SMFICTX* context) {
  return static_cast<Connection*>(smfi_getpriv(context));
}

std::string Unbracket(const char* address) {
  std::string text = address == nullptr ? "" : address;
  if (text.size() >= 2 && text.front() == '<' && text.back() == '>') {
    text = text.substr(1, text.size() - 2);
  }
  return text;
}

// libmilter takes char*; it copies what it is given.
char* Mutable(const std::string& text) { return const_cast<char*>(text.c_str()); }

void SetReply(SMFICTX* context, const MilterAnswer& answer) {
  if (answer.reply_code.empty()) return;
  std::string text = ReplySafe(answer.reply_text);
  smfi_setreply(context, Mutable(answer.reply_code), Mutable(answer.extended_code), Mutable(text));
}

sfsistat Oversized(SMFICTX* context, Connection& connection) {
  connection.mail.oversized = true;
  if (g_settings->counters != nullptr) g_settings->counters->Count(MailOutcome::kRefused);
  const std::string code = "552";
  const std::string extended = "5.3.4";
  const std::string text = ReplySafe(TooLargeReply(g_settings->max_message_bytes));
  smfi_setreply(context, Mutable(code), Mutable(extended), Mutable(text));
  Log(LogLevel::kInfo,
      absl::StrCat("milter: queue id ", connection.mail.queue_id, ": refused, larger than ",
                   g_settings->max_message_bytes, " bytes"));
  return SMFIS_REJECT;
}

sfsistat OnConnect(SMFICTX* context, char*, _SOCK_ADDR*) {
  smfi_setpriv(context, new Connection());
  return SMFIS_CONTINUE;
}

sfsistat OnEnvelopeFrom(SMFICTX* context, char** argv) {
  Connection* connection = ConnectionOf(context);
  if (connection == nullptr) return SMFIS_TEMPFAIL;
  connection->mail = ReceivedMail();
  connection->bytes = 0;
  connection->mail.sender = Unbracket(argv[0]);
  return SMFIS_CONTINUE;
}

sfsistat OnRecipient(SMFICTX* context, char** argv) {
  Connection* connection = ConnectionOf(context);
  if (connection == nullptr) return SMFIS_TEMPFAIL;
  connection->mail.recipients.push_back(Unbracket(argv[0]));
  return SMFIS_CONTINUE;
}

sfsistat OnHeader(SMFICTX* context, char* name, char* value) {
  Connection* connection = ConnectionOf(context);
  if (connection == nullptr) return SMFIS_TEMPFAIL;
  if (connection->mail.queue_id.empty()) {
    if (const char* id = smfi_getsymval(context, const_cast<char*>("i"))) {
      connection->mail.queue_id = id;
    }
  }
  connection->bytes += strlen(name) + strlen(value) + 4;
  if (connection->bytes > g_settings->max_message_bytes) return Oversized(context, *connection);
  connection->mail.headers.push_back({.name = name, .value = value});
  return SMFIS_CONTINUE;
}

sfsistat OnBody(SMFICTX* context, unsigned char* chunk, size_t length) {
  Connection* connection = ConnectionOf(context);
  if (connection == nullptr) return SMFIS_TEMPFAIL;
  connection->bytes += length;
  if (connection->bytes > g_settings->max_message_bytes) return Oversized(context, *connection);
  connection->mail.body.append(reinterpret_cast<const char*>(chunk), length);
  return SMFIS_CONTINUE;
}

sfsistat Apply(SMFICTX* context, const MilterAnswer& answer) {
  switch (answer.action) {
    case MilterAnswer::Action::kTempFail:
      SetReply(context, answer);
      return SMFIS_TEMPFAIL;
    case MilterAnswer::Action::kReject:
      SetReply(context, answer);
      return SMFIS_REJECT;
    case MilterAnswer::Action::kQuarantine: {
      std::string reason = answer.quarantine_reason;
      if (smfi_quarantine(context, Mutable(reason)) != MI_SUCCESS) return SMFIS_TEMPFAIL;
      return SMFIS_ACCEPT;
    }
    case MilterAnswer::Action::kAccept:
      break;
  }
  for (const HeaderOperation& operation : answer.header_operations) {
    int done = MI_FAILURE;
    switch (operation.kind) {
      case HeaderOperation::Kind::kDelete:
        done = smfi_chgheader(context, Mutable(operation.name), operation.index, nullptr);
        break;
      case HeaderOperation::Kind::kChange:
        done = smfi_chgheader(context, Mutable(operation.name), operation.index,
                              Mutable(operation.value));
        break;
      case HeaderOperation::Kind::kAdd:
        done = smfi_addheader(context, Mutable(operation.name), Mutable(operation.value));
        break;
      case HeaderOperation::Kind::kInsert:
        done = smfi_insheader(context, operation.index, Mutable(operation.name),
                              Mutable(operation.value));
        break;
    }
    // Half a rewrite must not leave: the MTA keeps the mail and retries.
    if (done != MI_SUCCESS) return SMFIS_TEMPFAIL;
  }
  if (answer.new_body.has_value()) {
    const std::string& body = *answer.new_body;
    // libmilter sends at most 64 KiB per message to the MTA.
    constexpr size_t kChunk = 65535;
    for (size_t offset = 0; offset < body.size() || offset == 0; offset += kChunk) {
      const size_t length = std::min(kChunk, body.size() - offset);
      if (smfi_replacebody(
              context, reinterpret_cast<unsigned char*>(const_cast<char*>(body.data() + offset)),
              static_cast<int>(length)) != MI_SUCCESS) {
        return SMFIS_TEMPFAIL;
      }
      if (body.empty()) break;
    }
  }
  return SMFIS_CONTINUE;
}

sfsistat OnEndOfMessage(SMFICTX* context) {
  Connection* connection = ConnectionOf(context);
  if (connection == nullptr) return SMFIS_TEMPFAIL;
  if (connection->mail.queue_id.empty()) {
    if (const char* id = smfi_getsymval(context, const_cast<char*>("i"))) {
      connection->mail.queue_id = id;
    }
  }
  MilterAnswer answer;
  try {
    answer = g_settings->handler(connection->mail);
  } catch (...) {
    answer.action = MilterAnswer::Action::kTempFail;
    answer.reply_code = "451";
    answer.extended_code = "4.3.0";
    answer.reply_text = "signet-milter failed; try again later";
    answer.result = "internal error";
  }
  sfsistat status = Apply(context, answer);
  if (g_settings->counters != nullptr) {
    g_settings->counters->Count(status == SMFIS_TEMPFAIL ? MailOutcome::kDeferred
                                                         : OutcomeOf(answer));
  }
  Log(LogLevel::kInfo,
      absl::StrCat("milter: queue id ",
                   connection->mail.queue_id.empty() ? "-" : connection->mail.queue_id, ": ",
                   connection->mail.recipients.size(), " recipient(s), ",
                   answer.policy.empty() ? "no policy" : answer.policy, ": ",
                   status == SMFIS_TEMPFAIL && answer.action == MilterAnswer::Action::kAccept
                       ? "changes could not be applied, deferred"
                       : answer.result));
  // The next mail on this connection starts afresh.
  connection->mail = ReceivedMail();
  connection->bytes = 0;
  return status;
}

sfsistat OnAbort(SMFICTX* context) {
  if (Connection* connection = ConnectionOf(context)) {
    connection->mail = ReceivedMail();
    connection->bytes = 0;
  }
  return SMFIS_CONTINUE;
}

sfsistat OnClose(SMFICTX* context) {
  delete ConnectionOf(context);
  smfi_setpriv(context, nullptr);
  return SMFIS_CONTINUE;
}

}  // namespace

int RegisterMilter(const MilterSettings* settings) {
  g_settings = settings;
  static smfiDesc description = {
      .xxfi_name = const_cast<char*>("signet-milter"),
      .xxfi_version = SMFI_VERSION,
      .xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_QUARANTINE,
      .xxfi_connect = OnConnect,
      .xxfi_helo = nullptr,
      .xxfi_envfrom = OnEnvelopeFrom,
      .xxfi_envrcpt = OnRecipient,
      .xxfi_header = OnHeader,
      .xxfi_eoh = nullptr,
      .xxfi_body = OnBody,
      .xxfi_eom = OnEndOfMessage,
      .xxfi_abort = OnAbort,
      .xxfi_close = OnClose,
      .xxfi_unknown = nullptr,
      .xxfi_data = nullptr,
      .xxfi_negotiate = nullptr,
  };
  return smfi_register(description);
}

}  // namespace signet::milter
