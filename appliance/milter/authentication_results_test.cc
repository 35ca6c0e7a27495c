#include "appliance/milter/authentication_results.h"

#include <string>
#include <vector>

#include "appliance/milter/message_rewrite.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/v1/mail.pb.h"

namespace signet::milter {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Status = SmimeVerification::Status;

SmimeVerification Verified(bool trusted, bool from_matches) {
  SmimeVerification v;
  v.status = Status::kVerified;
  v.chain_trusted = trusted;
  v.from_matches = from_matches;
  v.identifier = "statements@bank.example";
  return v;
}

TEST(SmimeAuthenticationResultsTest, Pass) {
  EXPECT_EQ(SmimeAuthenticationResults("mx1.bank.example", Verified(true, true)),
            "mx1.bank.example; smime=pass body.smime-identifier=statements@bank.example");
}

TEST(SmimeAuthenticationResultsTest, EveryOutcome) {
  SmimeVerification v;
  EXPECT_EQ(SmimeAuthenticationResults("mx", v), "mx; smime=none");
  v.status = Status::kBadSignature;
  v.identifier = "a@b.example";
  EXPECT_EQ(SmimeAuthenticationResults("mx", v),
            "mx; smime=fail reason=\"signature does not verify\"");
  v.status = Status::kUnprocessable;
  EXPECT_EQ(SmimeAuthenticationResults("mx", v),
            "mx; smime=neutral reason=\"signature could not be processed\"");
  v.status = Status::kTemporaryError;
  EXPECT_EQ(SmimeAuthenticationResults("mx", v),
            "mx; smime=temperror reason=\"verification could not finish; try again later\"");

  EXPECT_EQ(SmimeAuthenticationResults("mx", Verified(false, true)),
            "mx; smime=policy reason=\"signer certificate not trusted\" "
            "body.smime-identifier=statements@bank.example");
  EXPECT_EQ(SmimeAuthenticationResults("mx", Verified(true, false)),
            "mx; smime=policy reason=\"From: does not match the signer\" "
            "body.smime-identifier=statements@bank.example");
  EXPECT_EQ(SmimeAuthenticationResults("mx", Verified(false, false)),
            "mx; smime=policy reason=\"signer certificate not trusted; From: does not match the "
            "signer\" body.smime-identifier=statements@bank.example");

  SmimeVerification untrusted_allowed = Verified(false, true);
  untrusted_allowed.require_trusted_chain = false;
  EXPECT_EQ(SmimeAuthenticationResults("mx", untrusted_allowed),
            "mx; smime=pass reason=\"signer certificate not trusted\" "
            "body.smime-identifier=statements@bank.example");
  // ... but a From: mismatch is never a pass.
  untrusted_allowed.from_matches = false;
  EXPECT_EQ(ResultOf(untrusted_allowed), SmimeResult::kPolicy);

  SmimeVerification no_from = Verified(true, false);
  no_from.from_missing = true;
  EXPECT_EQ(SmimeAuthenticationResults("mx", no_from),
            "mx; smime=permerror reason=\"no single From: address\" "
            "body.smime-identifier=statements@bank.example");
}

TEST(SmimeAuthenticationResultsTest, QuotesWhatIsNotAToken) {
  SmimeVerification v = Verified(true, true);
  v.identifier = "\"odd local\"@bank.example";
  EXPECT_EQ(SmimeAuthenticationResults("mx 1;(x)", v),
            "\"mx 1;(x)\"; smime=pass body.smime-identifier=\"\\\"odd local\\\"@bank.example\"");
  v.identifier = "a\r\nInjected: x@b.example";
  EXPECT_EQ(SmimeAuthenticationResults("mx", v),
            "mx; smime=pass body.smime-identifier=\"a??Injected: x@b.example\"");
}

TEST(VerificationFromResponseTest, PrefersATrustedSignerMatchingFrom) {
  ::signet::v1::MailResponse::Header header;
  header.set_from_address("ceo@partner.example");
  ::signet::v1::Signer& untrusted = *header.add_signers();
  untrusted.set_chain_status(::signet::v1::UNTRUSTED);
  untrusted.set_from_matches_signer(true);
  untrusted.add_email_addresses("ceo@partner.example");
  ::signet::v1::Signer& trusted_other = *header.add_signers();
  trusted_other.set_chain_status(::signet::v1::TRUSTED);
  trusted_other.add_email_addresses("robot@partner.example");

  SmimeVerification v = VerificationFromResponse(header, true);
  EXPECT_EQ(v.status, Status::kVerified);
  EXPECT_TRUE(v.chain_trusted);
  EXPECT_FALSE(v.from_matches);
  EXPECT_EQ(v.identifier, "robot@partner.example");
  EXPECT_EQ(ResultOf(v), SmimeResult::kPolicy);

  ::signet::v1::Signer& good = *header.add_signers();
  good.set_chain_status(::signet::v1::TRUSTED);
  good.set_from_matches_signer(true);
  v = VerificationFromResponse(header, true);
  EXPECT_TRUE(v.from_matches);
  EXPECT_EQ(v.identifier, "ceo@partner.example");
  EXPECT_EQ(ResultOf(v), SmimeResult::kPass);

  EXPECT_EQ(VerificationFromResponse(::signet::v1::MailResponse::Header(), true).status,
            Status::kNotSigned);
  header.clear_from_address();
  EXPECT_EQ(ResultOf(VerificationFromResponse(header, true)), SmimeResult::kPermError);
}

TEST(ClaimsAuthservIdTest, Ours) {
  constexpr char kOurs[] = "mx1.bank.example";
  for (const char* value : {
           "mx1.bank.example; smime=pass", "MX1.Bank.Example; none", "mx1.bank.example",
           "  mx1.bank.example 1; smime=pass", "mx1.bank.example(comment); spf=pass",
           "(a comment) mx1.bank.example; dkim=pass",
           "(nested (comment) \\) still) mx1.bank.example;",
           "\r\n\t(folded\r\n comment)\n mx1.bank.example\n\t1;\n smime=pass",
           "\"mx1.bank.example\"; smime=pass", "\"mx1.bank\\.example\" 1; none",
           "mx1.bank.example/1; smime=pass",  // ends at a tspecial: malformed, ours all the same
       }) {
    EXPECT_TRUE(ClaimsAuthservId(value, kOurs)) << value;
  }
}

TEST(ClaimsAuthservIdTest, NotOurs) {
  constexpr char kOurs[] = "mx1.bank.example";
  for (const char* value : {
           "mx1.bank.example.evil; smime=pass",
           "mx1.bank.examplex; smime=pass",
           "evil-mx1.bank.example; smime=pass",
           "mx2.bank.example; smime=pass",
           "(mx1.bank.example) mx2.bank.example; smime=pass",
           "\"mx1.bank.example \"; smime=pass",
           "\"mx1.bank.example; smime=pass",
           "(unterminated mx1.bank.example; smime=pass",
           "",
           "   ",
           "; smime=pass",
       }) {
    EXPECT_FALSE(ClaimsAuthservId(value, kOurs)) << value;
  }
}

TEST(ClaimsAuthservIdTest, EveryPrefixOfTrickyValuesIsSafe) {
  // Cut anywhere (the sanitizer build watches the reads): a value cut
  // before the whole id never claims it.
  for (const std::string value : {
           "(a (b \\) c) d) \"mx1.bank\\.example\" 1; smime=pass",
           "\r\n\t(x)\r\n mx1.bank.example(y\\",
       }) {
    for (size_t length = 0; length <= value.size(); ++length) {
      const std::string prefix = value.substr(0, length);
      const bool claims = ClaimsAuthservId(prefix, "mx1.bank.example");
      if (claims) {
        EXPECT_NE(prefix.find("example"), std::string::npos) << prefix;
      }
    }
  }
  EXPECT_TRUE(ClaimsAuthservId("(a (b \\) c) d) \"mx1.bank\\.example\"", "mx1.bank.example"));
  EXPECT_FALSE(ClaimsAuthservId("(a (b \\) c) d) \"mx1.bank\\.example", "mx1.bank.example"));
}

TEST(DeleteForgedAuthenticationResultsTest, OnlyOursHighestIndexFirst) {
  const std::vector<HeaderField> headers = {
      {"Authentication-Results", "mx1.bank.example; smime=pass"},
      {"From", "a@partner.example"},
      {"Authentication-Results", "mx.partner.example; dkim=pass"},
      {"authentication-results", "(forged)\n MX1.bank.example 1; smime=pass"},
  };
  EXPECT_THAT(DeleteForgedAuthenticationResults(headers, "mx1.bank.example"),
              ElementsAre(HeaderChange{HeaderChange::kDelete, "Authentication-Results", 3, ""},
                          HeaderChange{HeaderChange::kDelete, "Authentication-Results", 1, ""}));
  EXPECT_THAT(DeleteForgedAuthenticationResults(headers, "mx9.bank.example"), IsEmpty());
}

}  // namespace
}  // namespace signet::milter
