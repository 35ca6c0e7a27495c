#include "appliance/milter/mail_handler.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "appliance/milter/authentication_results.h"
#include "appliance/milter/message_rewrite.h"
#include "appliance/milter/policy.h"
#include "appliance/milter/smtp_reply.h"

namespace signet::milter {
namespace {

// Every answer names the policy that was applied, for the log line.
MilterAnswer Deferred(const std::string& policy, std::string why, std::string extended = "4.7.0") {
  MilterAnswer answer;
  answer.policy = policy;
  answer.action = MilterAnswer::Action::kTempFail;
  answer.reply_code = "451";
  answer.extended_code = std::move(extended);
  answer.reply_text = absl::StrCat("signet-milter: ", why, "; try again later");
  answer.result = absl::StrCat("deferred: ", why);
  return answer;
}

MilterAnswer Refused(const std::string& policy, std::string code, std::string extended,
                     std::string why) {
  MilterAnswer answer;
  answer.policy = policy;
  answer.action = MilterAnswer::Action::kReject;
  answer.reply_code = std::move(code);
  answer.extended_code = std::move(extended);
  answer.reply_text = absl::StrCat("signet-milter: ", why);
  answer.result = absl::StrCat("refused: ", why);
  return answer;
}

// signetd's message only: it never quotes the mail (docs/api.md).
std::string Why(const MailResult& result) {
  return std::string(result.status.error_message()).substr(0, 300);
}

// A signetd call that failed: deferred when the appliance may do it later,
// refused when it is the mail signetd cannot sign or encrypt.
MilterAnswer Failed(const MailResult& result, absl::string_view done, const std::string& policy) {
  // A From: the sender's key may not sign for is not delivery the sender is
  // authorized for (RFC 3463 X.7.1), and not a fault of the mail's format.
  const std::string extended = result.details.sender_refusal().empty() ? "5.6.0" : "5.7.1";
  return IsTemporary(result)
             ? Deferred(policy, absl::StrCat("signetd: ", Why(result)))
             : Refused(policy, "554", extended,
                       absl::StrCat("the mail could not be ", done, ": ", Why(result)));
}

void AddChanges(const std::vector<HeaderChange>& changes, MilterAnswer& answer) {
  for (const HeaderChange& change : changes) {
    HeaderOperation operation;
    operation.name = change.name;
    operation.index = change.index;
    operation.value = change.value;
    switch (change.kind) {
      case HeaderChange::kDelete:
        operation.kind = HeaderOperation::Kind::kDelete;
        break;
      case HeaderChange::kChange:
        operation.kind = HeaderOperation::Kind::kChange;
        break;
      case HeaderChange::kAdd:
        operation.kind = HeaderOperation::Kind::kAdd;
        break;
    }
    answer.header_operations.push_back(std::move(operation));
  }
}

// The MTA's copy becomes signetd's output: its MIME fields and body. An
// output the rewrite cannot read is not delivered (deferred: a signetd
// fault, not the mail's).
bool ApplyOutput(const ReceivedMail& mail, const std::string& output, MilterAnswer& answer) {
  absl::StatusOr<Rewrite> rewrite = ComputeRewrite(mail.headers, output);
  if (!rewrite.ok()) return false;
  AddChanges(rewrite->header_changes, answer);
  answer.new_body = std::move(rewrite->body);
  return true;
}

// The first Content-Type's value, lower-cased; empty without one.
std::string ContentTypeOf(const std::vector<HeaderField>& headers) {
  for (const HeaderField& field : headers) {
    if (absl::EqualsIgnoreCase(field.name, "Content-Type")) {
      return absl::AsciiStrToLower(field.value);
    }
  }
  return "";
}

bool IsEncrypted(const std::vector<HeaderField>& headers) {
  const std::string type = ContentTypeOf(headers);
  return absl::StrContains(type, "pkcs7-mime") &&
         (absl::StrContains(type, "enveloped-data") ||
          absl::StrContains(type, "authenveloped-data") || !absl::StrContains(type, "smime-type"));
}

bool IsSigned(const std::vector<HeaderField>& headers) {
  const std::string type = ContentTypeOf(headers);
  return absl::StrContains(type, "multipart/signed") ||
         (absl::StrContains(type, "pkcs7-mime") && absl::StrContains(type, "signed-data"));
}

}  // namespace

MilterAnswer MailPolicyHandler::Handle(const ReceivedMail& mail) {
  switch (ClassifyMail(config_, mail.sender, mail.recipients)) {
    case Direction::kOutbound:
      return Outbound(mail);
    case Direction::kInbound:
      return Inbound(mail);
    case Direction::kNeither:
      break;
  }
  MilterAnswer answer;
  answer.policy = "neither outbound nor inbound";
  answer.result = "passed unchanged";
  return answer;
}

MilterAnswer MailPolicyHandler::Outbound(const ReceivedMail& mail) {
  const OutboundDecision decision = DecideOutbound(config_, mail.sender, mail.recipients);
  const std::string policy =
      absl::StrCat("outbound ", v1::OutboundAction_Name(decision.action),
                   decision.signing_key.empty() ? "" : absl::StrCat(" key ", decision.signing_key));
  const std::string message = AssembleMessage(mail.headers, mail.body);

  std::vector<std::string> without_certificate = decision.unaddressable;
  // Those signetd found without a certificate but left off its list.
  size_t unnamed = 0;
  const bool wants_encryption =
      decision.action == v1::SIGN_AND_ENCRYPT_IF_POSSIBLE || decision.action == v1::MUST_ENCRYPT;
  if (wants_encryption && without_certificate.empty()) {
    // One call in the usual case: signetd resolves the addresses itself and
    // says which have no usable certificate.
    MailResult encrypted =
        decision.signing_key.empty()
            ? signetd_.EncryptMail(decision.encrypt_to, message)
            : signetd_.SignAndEncryptMail(decision.signing_key, decision.timestamp,
                                          decision.encrypt_to, message);
    if (encrypted.status.ok()) {
      MilterAnswer answer;
      answer.policy = policy;
      if (!ApplyOutput(mail, encrypted.mail, answer)) {
        return Deferred(policy, "signetd's output could not be read", "4.3.0");
      }
      answer.result =
          absl::StrCat(decision.signing_key.empty() ? "encrypted" : "signed and encrypted", " to ",
                       decision.encrypt_to.size(), " recipient(s)");
      return answer;
    }
    if (encrypted.details.unresolved_recipients().empty() &&
        encrypted.details.omitted_unresolved_recipients() <= 0) {
      return Failed(encrypted, "encrypted", policy);
    }
    for (const ::signet::v1::UnresolvedRecipient& recipient :
         encrypted.details.unresolved_recipients()) {
      without_certificate.push_back(recipient.address());
    }
    unnamed = static_cast<size_t>(std::max(0, encrypted.details.omitted_unresolved_recipients()));
  }

  const OutboundPlan plan = PlanOutbound(decision, without_certificate, unnamed);
  if (plan.refuse) {
    const std::string who = NameRecipients(plan.missing, unnamed, kMaxReplyText);
    if (plan.refusal == v1::HOLD) {
      MilterAnswer held;
      held.action = MilterAnswer::Action::kQuarantine;
      held.quarantine_reason = absl::StrCat("signet-milter: no certificate for ", who);
      held.policy = policy;
      held.result = absl::StrCat("held: no certificate for ", who);
      return held;
    }
    return Refused(policy, "550", "5.7.1", MissingCertificateReply(plan.missing, unnamed));
  }
  MilterAnswer answer;
  answer.policy = policy;
  if (plan.operation == MailOperation::kNone) {
    answer.result = decision.signing_key.empty() && decision.action != v1::NONE
                        ? "unchanged: no signing key for the sender"
                        : "unchanged";
    return answer;
  }
  if (plan.operation != MailOperation::kSign) {
    // Encryption was refused for recipients none of which is in the mail:
    // signetd and the milter disagree about the addresses. Signing alone
    // could be less than the policy asks, so the mail waits.
    return Deferred(policy, "signetd named no recipient of the mail as unresolved", "4.3.0");
  }
  // kSign: encryption was only wished for, or signing is all that is asked.
  MailResult signed_mail = signetd_.SignMail(decision.signing_key, decision.timestamp, message);
  if (!signed_mail.status.ok()) {
    return Failed(signed_mail, "signed", policy);
  }
  if (!ApplyOutput(mail, signed_mail.mail, answer)) {
    return Deferred(policy, "signetd's output could not be read", "4.3.0");
  }
  answer.result = without_certificate.empty()
                      ? "signed"
                      : absl::StrCat("signed, not encrypted: no certificate for ",
                                     NameRecipients(without_certificate, unnamed, kMaxReplyText));
  return answer;
}

MilterAnswer MailPolicyHandler::Inbound(const ReceivedMail& mail) {
  const InboundDecision decision = DecideInbound(config_, mail.recipients);
  MilterAnswer answer;
  answer.policy =
      absl::StrCat("inbound", decision.decrypt ? " decrypt" : "", decision.verify ? " verify" : "");
  // Fields claiming to be this host's results were not written here.
  AddChanges(DeleteForgedAuthenticationResults(mail.headers, config_.authserv_id()), answer);
  std::vector<std::string> done;

  std::string message = AssembleMessage(mail.headers, mail.body);
  std::vector<HeaderField> headers = mail.headers;
  if (decision.decrypt && IsEncrypted(mail.headers)) {
    bool decrypted = false;
    for (const std::string& key : decision.decryption_keys) {
      MailResult result = signetd_.DecryptMail(key, message);
      if (result.status.ok()) {
        if (!ApplyOutput(mail, result.mail, answer)) {
          return Deferred(answer.policy, "signetd's output could not be read", "4.3.0");
        }
        message = std::move(result.mail);
        decrypted = true;
        done.push_back(absl::StrCat("decrypted with ", key));
        break;
      }
      if (IsTemporary(result)) {
        // Decrypting is the policy: delivering it encrypted now would be
        // delivering it other than the policy says.
        return Deferred(answer.policy, absl::StrCat("signetd: ", Why(result)));
      }
    }
    if (!decrypted) done.push_back("not decrypted: none of its keys opens it");
    if (decrypted) {
      // The decrypted mail's own header block decides what it is now.
      const size_t end = message.find("\r\n\r\n");
      absl::StatusOr<std::vector<HeaderField>> inner =
          ParseHeaderBlock(end == std::string::npos ? message : message.substr(0, end + 2));
      if (inner.ok()) headers = *std::move(inner);
    }
  }

  if (decision.verify && IsSigned(headers)) {
    MailResult verified = signetd_.VerifyMail(message);
    SmimeVerification verification;
    verification.require_trusted_chain = decision.require_trusted_chain;
    if (verified.status.ok()) {
      verification = VerificationFromResponse(verified.header, decision.require_trusted_chain);
    } else if (IsTemporary(verified)) {
      verification.status = SmimeVerification::Status::kTemporaryError;
    } else {
      const std::string& failure = verified.details.verify_failure();
      verification.status = failure == "NOT_SIGNED"  ? SmimeVerification::Status::kNotSigned
                            : failure == "MALFORMED" ? SmimeVerification::Status::kUnprocessable
                                                     : SmimeVerification::Status::kBadSignature;
    }
    if (verification.status != SmimeVerification::Status::kNotSigned) {
      HeaderOperation result;
      result.kind = HeaderOperation::Kind::kInsert;
      result.index = 0;
      result.name = std::string(kAuthenticationResults);
      result.value = SmimeAuthenticationResults(config_.authserv_id(), verification);
      answer.header_operations.push_back(std::move(result));
      done.push_back(absl::StrCat("smime=", SmimeResultName(ResultOf(verification))));
    }
  }
  answer.result = done.empty() ? "unchanged" : absl::StrJoin(done, ", ");
  return answer;
}

}  // namespace signet::milter
