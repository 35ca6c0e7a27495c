#include "appliance/milter/milter_counters.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace signet::milter {
namespace {

const char* OutcomeName(MailOutcome outcome) {
  switch (outcome) {
    case MailOutcome::kUnchanged:
      return "unchanged";
    case MailOutcome::kSigned:
      return "signed";
    case MailOutcome::kEncrypted:
      return "encrypted";
    case MailOutcome::kDecrypted:
      return "decrypted";
    case MailOutcome::kVerified:
      return "verified";
    case MailOutcome::kDeferred:
      return "deferred";
    case MailOutcome::kRefused:
      return "refused";
    case MailOutcome::kHeld:
      return "held";
    case MailOutcome::kCount:
      break;
  }
  return "unknown";
}

}  // namespace

std::string MilterCounters::PrometheusText() const {
  std::string text =
      "# HELP signet_milter_mails_total Mails signet-milter handled, by outcome.\n"
      "# TYPE signet_milter_mails_total counter\n";
  for (size_t i = 0; i < static_cast<size_t>(MailOutcome::kCount); ++i) {
    const auto outcome = static_cast<MailOutcome>(i);
    absl::StrAppend(&text, "signet_milter_mails_total{outcome=\"", OutcomeName(outcome), "\"} ",
                    Get(outcome), "\n");
  }
  return text;
}

MailOutcome OutcomeOf(const MilterAnswer& answer) {
  switch (answer.action) {
    case MilterAnswer::Action::kTempFail:
      return MailOutcome::kDeferred;
    case MilterAnswer::Action::kReject:
      return MailOutcome::kRefused;
    case MilterAnswer::Action::kQuarantine:
      return MailOutcome::kHeld;
    case MilterAnswer::Action::kAccept:
      break;
  }
  // The handler's result words say what was done (mail_handler.cc).
  if (absl::StartsWith(answer.result, "signed and encrypted") ||
      absl::StartsWith(answer.result, "encrypted")) {
    return MailOutcome::kEncrypted;
  }
  if (absl::StartsWith(answer.result, "signed")) return MailOutcome::kSigned;
  if (absl::StartsWith(answer.result, "decrypted")) return MailOutcome::kDecrypted;
  if (absl::StartsWith(answer.result, "smime=")) return MailOutcome::kVerified;
  return MailOutcome::kUnchanged;
}

}  // namespace signet::milter
