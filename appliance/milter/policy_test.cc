#include "appliance/milter/policy.h"

#include <google/protobuf/text_format.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/milter/v1/milter_config.pb.h"

namespace signet::milter {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

v1::MilterConfig Config() {
  v1::MilterConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        local_domains: "bank.example"
        local_domains: "statements.bank.example"
        outbound {
          signers { senders: "Statements@Bank.Example" key: "statements" timestamp: true }
          signers { senders: "bank.example" key: "bank" }
          recipient_policies { domains: "*" action: SIGN_AND_ENCRYPT_IF_POSSIBLE }
          recipient_policies { domains: "regulator.example" action: MUST_ENCRYPT }
          recipient_policies { domains: "lists.example" action: NONE }
          recipient_policies { domains: "plain.example" action: SIGN }
        }
        inbound {
          rules {
            recipients: "bank.example"
            decrypt: true
            decryption_keys: "d1"
            decryption_keys: "d2"
          }
          rules { recipients: "treasury@bank.example" decrypt: false require_trusted_chain: false }
          rules {
            recipients: "statements.bank.example"
            decrypt: true
            decryption_keys: "d2"
            decryption_keys: "d3"
            verify: false
          }
        }
      )pb",
      &config));
  return config;
}

TEST(ClassifyMailTest, SenderDomainDecidesOutbound) {
  const v1::MilterConfig config = Config();
  EXPECT_EQ(ClassifyMail(config, "<a@BANK.example>", {"<x@partner.example>"}),
            Direction::kOutbound);
  // Mail between the bank's own users is outbound too: the sender is local.
  EXPECT_EQ(ClassifyMail(config, "a@bank.example", {"b@bank.example"}), Direction::kOutbound);
  EXPECT_EQ(ClassifyMail(config, "<x@partner.example>", {"<x@other.example>", "<a@bank.example>"}),
            Direction::kInbound);
  // A bounce (null sender) to the bank is inbound.
  EXPECT_EQ(ClassifyMail(config, "<>", {"<a@bank.example>"}), Direction::kInbound);
  EXPECT_EQ(ClassifyMail(config, "<x@partner.example>", {"<y@other.example>"}),
            Direction::kNeither);
  // A subdomain is not the domain.
  EXPECT_EQ(ClassifyMail(config, "a@mail.bank.example", {"b@other.example"}), Direction::kNeither);
}

TEST(DecideOutboundTest, ExactSenderAddressBeatsItsDomain) {
  const v1::MilterConfig config = Config();
  OutboundDecision statements =
      DecideOutbound(config, "<statements@bank.example>", {"<c@plain.example>"});
  EXPECT_EQ(statements.signing_key, "statements");
  EXPECT_TRUE(statements.timestamp);
  OutboundDecision clerk = DecideOutbound(config, "<Clerk@Bank.Example>", {"<c@plain.example>"});
  EXPECT_EQ(clerk.signing_key, "bank");
  EXPECT_FALSE(clerk.timestamp);
  EXPECT_EQ(clerk.action, v1::SIGN);
  EXPECT_THAT(clerk.deciding_domains, ElementsAre("plain.example"));
  EXPECT_THAT(clerk.encrypt_to, IsEmpty());
  EXPECT_EQ(DecideOutbound(config, "<x@statements.bank.example>", {"c@plain.example"}).signing_key,
            "");
}

TEST(DecideOutboundTest, TheStrictestRecipientDomainDecidesForAll) {
  const v1::MilterConfig config = Config();
  OutboundDecision decision =
      DecideOutbound(config, "clerk@bank.example",
                     {"<a@lists.example>", "<B@Regulator.Example>", "<c@customer.example>",
                      "<b@regulator.example>", "<root>"});
  EXPECT_EQ(decision.action, v1::MUST_ENCRYPT);
  EXPECT_THAT(decision.deciding_domains, ElementsAre("regulator.example"));
  // Everyone, even the NONE domain's recipient, gets the one encrypted mail.
  EXPECT_THAT(decision.encrypt_to,
              ElementsAre("a@lists.example", "b@regulator.example", "c@customer.example"));
  EXPECT_THAT(decision.unaddressable, ElementsAre("root"));
  EXPECT_EQ(decision.on_missing_certificate, v1::REJECT);

  decision =
      DecideOutbound(config, "clerk@bank.example", {"a@lists.example", "c@customer.example"});
  EXPECT_EQ(decision.action, v1::SIGN_AND_ENCRYPT_IF_POSSIBLE);
  EXPECT_THAT(decision.deciding_domains, ElementsAre("*"));

  EXPECT_EQ(DecideOutbound(config, "clerk@bank.example", {"a@lists.example"}).action, v1::NONE);
  EXPECT_EQ(DecideOutbound(config, "clerk@bank.example", {}).action, v1::NONE);
}

TEST(DecideOutboundTest, WithoutRulesEverythingIsSigned) {
  v1::MilterConfig config = Config();
  config.mutable_outbound()->clear_recipient_policies();
  OutboundDecision decision = DecideOutbound(config, "clerk@bank.example", {"a@x.example"});
  EXPECT_EQ(decision.action, v1::SIGN);
  EXPECT_THAT(decision.deciding_domains, ElementsAre(""));
}

TEST(DecideOutboundTest, AnUnknownActionIsReadAsMustEncrypt) {
  v1::MilterConfig config = Config();
  config.mutable_outbound()->mutable_recipient_policies(3)->set_action(
      static_cast<v1::OutboundAction>(42));
  EXPECT_EQ(DecideOutbound(config, "clerk@bank.example", {"a@plain.example"}).action,
            v1::MUST_ENCRYPT);
}

TEST(PlanOutboundTest, MustEncrypt) {
  const v1::MilterConfig config = Config();
  const OutboundDecision decision =
      DecideOutbound(config, "clerk@bank.example", {"a@regulator.example", "b@regulator.example"});
  OutboundPlan plan = PlanOutbound(decision, {});
  EXPECT_EQ(plan.operation, MailOperation::kSignAndEncrypt);
  EXPECT_FALSE(plan.refuse);

  plan = PlanOutbound(decision, {"<B@Regulator.example>", "unrelated@x.example"});
  EXPECT_EQ(plan.operation, MailOperation::kNone);
  EXPECT_TRUE(plan.refuse);
  EXPECT_EQ(plan.refusal, v1::REJECT);
  EXPECT_THAT(plan.missing, ElementsAre("b@regulator.example"));

  // A sender without a key: encrypted without a signature, never in clear.
  const OutboundDecision keyless =
      DecideOutbound(config, "x@statements.bank.example", {"a@regulator.example"});
  EXPECT_EQ(PlanOutbound(keyless, {}).operation, MailOperation::kEncrypt);
}

TEST(PlanOutboundTest, MustEncryptHoldsWhenConfigured) {
  v1::MilterConfig config = Config();
  config.mutable_outbound()->set_on_missing_certificate(v1::HOLD);
  const OutboundDecision decision =
      DecideOutbound(config, "clerk@bank.example", {"a@regulator.example", "<postmaster>"});
  OutboundPlan plan = PlanOutbound(decision, {});
  EXPECT_TRUE(plan.refuse);
  EXPECT_EQ(plan.refusal, v1::HOLD);
  // A recipient no certificate can name has none.
  EXPECT_THAT(plan.missing, ElementsAre("postmaster"));
}

TEST(PlanOutboundTest, IfPossibleMeansPossibleForAll) {
  const v1::MilterConfig config = Config();
  const OutboundDecision decision =
      DecideOutbound(config, "clerk@bank.example", {"a@c1.example", "b@c2.example"});
  EXPECT_EQ(PlanOutbound(decision, {}).operation, MailOperation::kSignAndEncrypt);
  OutboundPlan plan = PlanOutbound(decision, {"b@c2.example"});
  EXPECT_EQ(plan.operation, MailOperation::kSign);
  EXPECT_FALSE(plan.refuse);
  EXPECT_THAT(plan.missing, ElementsAre("b@c2.example"));

  const OutboundDecision keyless =
      DecideOutbound(config, "x@statements.bank.example", {"a@c1.example"});
  EXPECT_EQ(PlanOutbound(keyless, {}).operation, MailOperation::kEncrypt);
  EXPECT_EQ(PlanOutbound(keyless, {"a@c1.example"}).operation, MailOperation::kNone);
}

TEST(PlanOutboundTest, RecipientsSignetdDidNotNameStillLackACertificate) {
  const v1::MilterConfig config = Config();
  const OutboundDecision wished =
      DecideOutbound(config, "clerk@bank.example", {"a@c1.example", "b@c2.example"});
  EXPECT_EQ(PlanOutbound(wished, {}, /*unnamed=*/1).operation, MailOperation::kSign);
  const OutboundDecision required =
      DecideOutbound(config, "clerk@bank.example", {"a@regulator.example"});
  OutboundPlan plan = PlanOutbound(required, {}, /*unnamed=*/3);
  EXPECT_TRUE(plan.refuse);
  EXPECT_EQ(plan.operation, MailOperation::kNone);
}

TEST(PlanOutboundTest, SignAndNone) {
  const v1::MilterConfig config = Config();
  EXPECT_EQ(
      PlanOutbound(DecideOutbound(config, "clerk@bank.example", {"a@plain.example"}), {}).operation,
      MailOperation::kSign);
  EXPECT_EQ(
      PlanOutbound(DecideOutbound(config, "x@statements.bank.example", {"a@plain.example"}), {})
          .operation,
      MailOperation::kNone);
  EXPECT_EQ(
      PlanOutbound(DecideOutbound(config, "clerk@bank.example", {"a@lists.example"}), {}).operation,
      MailOperation::kNone);
}

TEST(DecideInboundTest, DomainRule) {
  const InboundDecision decision = DecideInbound(Config(), {"<Clerk@Bank.Example>"});
  EXPECT_TRUE(decision.decrypt);
  EXPECT_THAT(decision.decryption_keys, ElementsAre("d1", "d2"));
  EXPECT_TRUE(decision.verify);
  EXPECT_TRUE(decision.require_trusted_chain);
}

TEST(DecideInboundTest, ExactAddressBeatsDomain) {
  const InboundDecision decision = DecideInbound(Config(), {"<TREASURY@bank.example>"});
  EXPECT_FALSE(decision.decrypt);
  EXPECT_THAT(decision.decryption_keys, IsEmpty());
  EXPECT_TRUE(decision.verify);
  EXPECT_FALSE(decision.require_trusted_chain);
}

TEST(DecideInboundTest, DecryptsOnlyWhenEveryLocalRecipientsRuleDoes) {
  const v1::MilterConfig config = Config();
  InboundDecision decision =
      DecideInbound(config, {"a@statements.bank.example", "b@bank.example", "c@foreign.example"});
  EXPECT_TRUE(decision.decrypt);
  EXPECT_THAT(decision.decryption_keys, ElementsAre("d1", "d2", "d3"));
  EXPECT_TRUE(decision.verify);

  decision = DecideInbound(config, {"b@bank.example", "treasury@bank.example"});
  EXPECT_FALSE(decision.decrypt);
  EXPECT_THAT(decision.decryption_keys, IsEmpty());
  // One rule requires a trusted chain: the mail's one result must satisfy it.
  EXPECT_TRUE(decision.require_trusted_chain);

  // statements.bank.example alone does not verify.
  decision = DecideInbound(config, {"a@statements.bank.example"});
  EXPECT_FALSE(decision.verify);
  EXPECT_FALSE(decision.require_trusted_chain);
}

TEST(DecideInboundTest, ARecipientWithoutARuleGetsNothing) {
  v1::MilterConfig config = Config();
  config.mutable_inbound()->mutable_rules()->DeleteSubrange(0, 1);
  InboundDecision decision = DecideInbound(config, {"clerk@bank.example"});
  EXPECT_FALSE(decision.decrypt);
  EXPECT_FALSE(decision.verify);
  // ... and keeps a mail to others encrypted.
  decision = DecideInbound(config, {"clerk@bank.example", "a@statements.bank.example"});
  EXPECT_FALSE(decision.decrypt);

  config.mutable_inbound()->add_rules()->add_recipients("*");
  decision = DecideInbound(config, {"clerk@bank.example"});
  EXPECT_FALSE(decision.decrypt);
  EXPECT_TRUE(decision.verify);
  EXPECT_TRUE(decision.require_trusted_chain);
  EXPECT_FALSE(DecideInbound(config, {"x@foreign.example"}).verify);
}

}  // namespace
}  // namespace signet::milter
