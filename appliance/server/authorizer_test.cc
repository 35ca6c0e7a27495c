#include "appliance/server/authorizer.h"

#include <google/protobuf/text_format.h>

#include <set>
#include <tuple>

#include "appliance/server/grpc_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/v1/errors.pb.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::server {
namespace {

using ::signet::matchers::IsOk;
using ::testing::Not;

using config::v1::Operation;
using ::testing::HasSubstr;

constexpr char kConfig[] = R"pb(
  keys {
    name: "bank-signing"
    token: "hsm"
    label: "s"
    purpose: SIGN
    sender_addresses: "Statements@Bank.example"
    sender_addresses: "alerts@bank.example"
  }
  keys { name: "bank-decryption" token: "hsm" label: "d" purpose: DECRYPT }
  keys { name: "any-signing" token: "hsm" label: "a" purpose: SIGN }
  callers {
    name: "mx-out"
    certificate_subject: "CN=mx-out,O=Bank"
    grants { keys: "bank-signing" operations: SIGN_MAIL operations: SIGN_DIGEST }
    grants { operations: ENCRYPT_MAIL }
    encrypt_skip_recipient_validation: true
  }
  callers {
    name: "mx-in"
    certificate_san: "mx-in.bank.example"
    grants { keys: "bank-decryption" operations: DECRYPT_MAIL operations: VERIFY_MAIL }
    verify_require_sender_match: true
  }
  callers {
    name: "admin"
    unix_uid: 1000
    grants { keys: "*" operations: READ_KEYS operations: ADMINISTER_KEYS }
  }
)pb";

class AuthorizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(kConfig, &config_));
    authorizer_ = std::make_unique<Authorizer>(config_);
  }
  config::v1::Config config_;
  std::unique_ptr<Authorizer> authorizer_;
};

TEST_F(AuthorizerTest, IdentifiesCallersByTheirTransportIdentity) {
  EXPECT_EQ(authorizer_->Identify({.certificate_subject = "CN=mx-out,O=Bank"}).value_or(""),
            "mx-out");
  EXPECT_EQ(authorizer_
                ->Identify({.certificate_subject = "CN=other",
                            .certificate_sans = {"x.example", "mx-in.bank.example"}})
                .value_or(""),
            "mx-in");
  // SANs compare without case, as the validator's duplicate check does.
  EXPECT_EQ(authorizer_->Identify({.certificate_sans = {"MX-IN.Bank.Example"}}).value_or(""),
            "mx-in");
  EXPECT_THAT(authorizer_->Identify({.certificate_sans = {"mx-in.bank.example.evil"}}),
              Not(IsOk()));
  EXPECT_EQ(authorizer_->Identify({.unix_uid = 1000}).value_or(""), "admin");
  absl::StatusOr<std::string> unknown = authorizer_->Identify({.unix_uid = 1001});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(unknown.status().message(), HasSubstr("uid 1001"));
  // A subject that merely contains a configured one is another subject.
  EXPECT_THAT(authorizer_->Identify({.certificate_subject = "CN=mx-out,O=Bank,C=XX"}), Not(IsOk()));
  EXPECT_THAT(authorizer_->Identify({}), Not(IsOk()));
}

TEST_F(AuthorizerTest, AllowsExactlyWhatTheGrantsSay) {
  const std::string callers[] = {"mx-out", "mx-in", "admin", "stranger"};
  const std::string keys[] = {"bank-signing", "bank-decryption", "any-signing", ""};
  const Operation operations[] = {config::v1::SIGN_MAIL,      config::v1::SIGN_DIGEST,
                                  config::v1::DECRYPT_MAIL,   config::v1::ENCRYPT_MAIL,
                                  config::v1::VERIFY_MAIL,    config::v1::READ_KEYS,
                                  config::v1::ADMINISTER_KEYS};
  const std::set<std::tuple<std::string, std::string, Operation>> allowed = {
      {"mx-out", "bank-signing", config::v1::SIGN_MAIL},
      {"mx-out", "bank-signing", config::v1::SIGN_DIGEST},
      {"mx-out", "", config::v1::ENCRYPT_MAIL},
      // A grant without keys covers operations that use none (and "" asks
      // for exactly that); granted keys cover the key-less form too.
      {"mx-out", "", config::v1::SIGN_MAIL},
      {"mx-out", "", config::v1::SIGN_DIGEST},
      {"mx-in", "bank-decryption", config::v1::DECRYPT_MAIL},
      {"mx-in", "bank-decryption", config::v1::VERIFY_MAIL},
      {"mx-in", "", config::v1::DECRYPT_MAIL},
      {"mx-in", "", config::v1::VERIFY_MAIL},
  };
  int allowed_count = 0;
  for (const std::string& caller : callers) {
    for (const std::string& key : keys) {
      for (Operation operation : operations) {
        bool expected = allowed.count({caller, key, operation}) > 0 ||
                        (caller == "admin" && (operation == config::v1::READ_KEYS ||
                                               operation == config::v1::ADMINISTER_KEYS));
        absl::Status status = authorizer_->Check(caller, key, operation);
        EXPECT_EQ(status.ok(), expected) << caller << " " << key << " "
                                         << config::v1::Operation_Name(operation) << ": " << status;
        if (!status.ok()) {
          EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
        }
        allowed_count += status.ok();
      }
    }
  }
  EXPECT_EQ(allowed_count, 9 + 8);  // the set above, and admin's two on four keys
}

TEST_F(AuthorizerTest, TheSenderCheckIsRequiredWhereTheCallerSaysSo) {
  EXPECT_TRUE(authorizer_->VerifyRequiresSenderMatch("mx-in"));
  EXPECT_FALSE(authorizer_->VerifyRequiresSenderMatch("mx-out"));
  EXPECT_FALSE(authorizer_->VerifyRequiresSenderMatch("stranger"));
  EXPECT_FALSE(authorizer_->VerifyRequiresSenderMatch(""));
}

TEST_F(AuthorizerTest, OnlyTheConfiguredCallerMaySkipRecipientValidation) {
  EXPECT_TRUE(authorizer_->MaySkipRecipientValidation("mx-out"));
  EXPECT_FALSE(authorizer_->MaySkipRecipientValidation("mx-in"));
  EXPECT_FALSE(authorizer_->MaySkipRecipientValidation("stranger"));
  EXPECT_FALSE(authorizer_->MaySkipRecipientValidation(""));
}

TEST_F(AuthorizerTest, BoundSigningKeySignsOnlyForItsSenders) {
  // Bound to "Statements@Bank.example": the domain in any case, the local
  // part as configured.
  EXPECT_THAT(authorizer_->CheckSender("bank-signing",
                                       "From: Bank Statements <Statements@bank.example>\r\n\r\nx"),
              IsOk());
  EXPECT_THAT(authorizer_->CheckSender("bank-signing", "From: alerts@BANK.example\r\n\r\nx"),
              IsOk());
  absl::Status other_case =
      authorizer_->CheckSender("bank-signing", "From: ALERTS@bank.example\r\n\r\nx");
  EXPECT_EQ(other_case.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(other_case.message(), HasSubstr("may not sign for <ALERTS@bank.example>"));
  absl::Status other = authorizer_->CheckSender(
      "bank-signing", "From: \"Statements@Bank.example\" <evil@x.org>\r\n\r\n");
  EXPECT_EQ(other.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(other.message(), HasSubstr("evil@x.org"));
  // Exactly one author, even when every author would be allowed.
  absl::Status two = authorizer_->CheckSender(
      "bank-signing", "From: Statements@Bank.example, alerts@bank.example\r\n\r\nx");
  EXPECT_EQ(two.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(two.message(), HasSubstr("names 2 authors"));
  EXPECT_THAT(authorizer_->CheckSender("bank-signing", "To: a@b\r\n\r\nx").message(),
              HasSubstr("has no From"));
  // A From the grammar cannot read is refused, saying why.
  absl::Status unreadable =
      authorizer_->CheckSender("bank-signing", "From: <evil@x.org> <alerts@bank.example>\r\n\r\nx");
  EXPECT_EQ(unreadable.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(unreadable.message(), HasSubstr("unexpected '<' after the address <evil@x.org>"));
  // One From field, and a Sender only if it is bound too.
  EXPECT_THAT(authorizer_
                  ->CheckSender("bank-signing",
                                "From: alerts@bank.example\r\nFrom: alerts@bank.example\r\n\r\n")
                  .message(),
              HasSubstr("more than one From field"));
  EXPECT_THAT(
      authorizer_->CheckSender(
          "bank-signing", "From: alerts@bank.example\r\nSender: Statements@bank.example\r\n\r\n"),
      IsOk());
  EXPECT_THAT(
      authorizer_
          ->CheckSender("bank-signing", "From: alerts@bank.example\r\nSender: evil@x.org\r\n\r\n")
          .message(),
      HasSubstr("may not sign for <evil@x.org>"));
  // An unbound key signs for anyone.
  EXPECT_THAT(authorizer_->CheckSender("any-signing", "From: anyone@x.org\r\n\r\nx"), IsOk());
}

// What a caller sees in ErrorDetails: the mail's own fault, by name, so that
// it is told from a missing grant under the same PERMISSION_DENIED.
std::string SenderRefusalOf(const absl::Status& status) {
  v1::ErrorDetails details;
  EXPECT_TRUE(details.ParseFromString(ToGrpcStatus(status, "").error_details()));
  return details.sender_refusal();
}

TEST_F(AuthorizerTest, SenderRefusalsSayWhatInTheMailRefusedIt) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"To: a@b\r\n\r\nx", "NO_FROM"},
      {"From: alerts@bank.example\r\nFrom: alerts@bank.example\r\n\r\n", "REPEATED_FIELD"},
      {"From: <evil@x.org> <alerts@bank.example>\r\n\r\nx", "MALFORMED_FROM"},
      {"From: Statements@Bank.example, alerts@bank.example\r\n\r\nx", "SEVERAL_AUTHORS"},
      {"From: alerts@bank.example\r\nSender: <a> <b>\r\n\r\nx", "MALFORMED_SENDER"},
      {"From: evil@x.org\r\n\r\nx", "NOT_BOUND"},
  };
  for (const auto& [mail, refusal] : cases) {
    absl::Status status = authorizer_->CheckSender("bank-signing", mail);
    EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << mail;
    EXPECT_EQ(SenderRefusalOf(status), refusal) << mail;
  }
  // A grant the caller lacks is not the mail's fault.
  absl::Status digest = authorizer_->CheckDigestSigning("bank-signing");
  EXPECT_EQ(digest.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(SenderRefusalOf(digest), "");
}

TEST_F(AuthorizerTest, BoundSigningKeySignsNoDigests) {
  absl::Status bound = authorizer_->CheckDigestSigning("bank-signing");
  EXPECT_EQ(bound.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(bound.message(), HasSubstr("SignMail"));
  EXPECT_THAT(authorizer_->CheckDigestSigning("any-signing"), IsOk());
}

}  // namespace
}  // namespace signet::server
