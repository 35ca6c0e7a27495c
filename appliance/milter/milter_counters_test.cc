#include "appliance/milter/milter_counters.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace signet::milter {
namespace {

using ::testing::HasSubstr;

MilterAnswer Answer(MilterAnswer::Action action, std::string result) {
  MilterAnswer answer;
  answer.action = action;
  answer.result = std::move(result);
  return answer;
}

TEST(MilterCountersTest, EachAnswerCountsAsWhatItDid) {
  using Action = MilterAnswer::Action;
  EXPECT_EQ(OutcomeOf(Answer(Action::kAccept, "signed and encrypted to 2 recipient(s)")),
            MailOutcome::kEncrypted);
  EXPECT_EQ(OutcomeOf(Answer(Action::kAccept, "encrypted to 1 recipient(s)")),
            MailOutcome::kEncrypted);
  EXPECT_EQ(OutcomeOf(Answer(Action::kAccept, "signed, not encrypted: no certificate for x")),
            MailOutcome::kSigned);
  EXPECT_EQ(OutcomeOf(Answer(Action::kAccept, "decrypted with k, smime=pass")),
            MailOutcome::kDecrypted);
  EXPECT_EQ(OutcomeOf(Answer(Action::kAccept, "smime=fail")), MailOutcome::kVerified);
  EXPECT_EQ(OutcomeOf(Answer(Action::kAccept, "unchanged")), MailOutcome::kUnchanged);
  EXPECT_EQ(OutcomeOf(Answer(Action::kTempFail, "deferred: signetd")), MailOutcome::kDeferred);
  EXPECT_EQ(OutcomeOf(Answer(Action::kReject, "refused")), MailOutcome::kRefused);
  EXPECT_EQ(OutcomeOf(Answer(Action::kQuarantine, "held")), MailOutcome::kHeld);
}

TEST(MilterCountersTest, PrometheusTextHasEveryOutcome) {
  MilterCounters counters;
  counters.Count(MailOutcome::kSigned);
  counters.Count(MailOutcome::kSigned);
  counters.Count(MailOutcome::kDeferred);
  const std::string text = counters.PrometheusText();
  EXPECT_THAT(text, HasSubstr("# TYPE signet_milter_mails_total counter\n"));
  EXPECT_THAT(text, HasSubstr("signet_milter_mails_total{outcome=\"signed\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("signet_milter_mails_total{outcome=\"deferred\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("signet_milter_mails_total{outcome=\"held\"} 0\n"));
}

}  // namespace
}  // namespace signet::milter
