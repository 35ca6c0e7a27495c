#include "appliance/server/call_log.h"

#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace signet::server {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

TEST(CallLogTest, SuccessLineHasEveryFieldAndNoMessage) {
  EXPECT_EQ(FormatCallLine({.method = "SignMail",
                            .caller = "local-gateway",
                            .key = "bank-signing",
                            .input_bytes = 1234,
                            .output_bytes = 5678,
                            .code = grpc::StatusCode::OK,
                            .message = "ignored for successes",
                            .duration = absl::Microseconds(12345)}),
            "call SignMail caller=local-gateway key=bank-signing in=1234 out=5678 status=OK "
            "ms=12.3");
}

TEST(CallLogTest, FailureLineEndsWithTheQuotedMessage) {
  EXPECT_EQ(FormatCallLine({.method = "GetKey",
                            .caller = "mx-out",
                            .key = "bank-decryption",
                            .input_bytes = 17,
                            .code = grpc::StatusCode::PERMISSION_DENIED,
                            .message = "caller 'mx-out' may not READ_KEYS on key 'bank-decryption'",
                            .duration = absl::Milliseconds(2)}),
            "call GetKey caller=mx-out key=bank-decryption in=17 out=0 status=PERMISSION_DENIED "
            "ms=2.0 message=\"caller \\'mx-out\\' may not READ_KEYS on key "
            "\\'bank-decryption\\'\"");
}

TEST(CallLogTest, AbsentNamesAreDashes) {
  EXPECT_THAT(FormatCallLine({.method = "EncryptMail", .code = grpc::StatusCode::OK}),
              HasSubstr("caller=- key=- "));
}

TEST(CallLogTest, ClientChosenNamesAndMessagesStayOnOneLine) {
  // A key name a client made up to forge a second line and fields.
  const std::string line = FormatCallLine({.method = "SignMail",
                                           .caller = "local-gateway",
                                           .key = "x status=OK\nINFO call SignMail caller=admin",
                                           .code = grpc::StatusCode::NOT_FOUND,
                                           .message = "no key named 'x\r\nforged'"});
  EXPECT_THAT(line, Not(HasSubstr("\n")));
  EXPECT_THAT(line, Not(HasSubstr("\r")));
  EXPECT_THAT(line, HasSubstr("key=\"x status=OK\\nINFO call SignMail caller=admin\""));
  EXPECT_THAT(line, HasSubstr("message=\"no key named \\'x\\r\\nforged\\'\""));
}

TEST(CallLogTest, LongNamesAndMessagesAreCut) {
  const std::string line = FormatCallLine({.method = "SignMail",
                                           .key = std::string(10000, 'k'),
                                           .code = grpc::StatusCode::INVALID_ARGUMENT,
                                           .message = std::string(10000, 'm')});
  EXPECT_LT(line.size(), 1000u);
  EXPECT_THAT(line, HasSubstr("k...\""));
  EXPECT_THAT(line, HasSubstr("m...\""));
}

TEST(CallLogTest, LevelsByCode) {
  EXPECT_EQ(CallLogLevel(grpc::StatusCode::OK), LogLevel::kDebug);
  EXPECT_EQ(CallLogLevel(grpc::StatusCode::INVALID_ARGUMENT), LogLevel::kInfo);
  EXPECT_EQ(CallLogLevel(grpc::StatusCode::PERMISSION_DENIED), LogLevel::kInfo);
  EXPECT_EQ(CallLogLevel(grpc::StatusCode::RESOURCE_EXHAUSTED), LogLevel::kInfo);
  EXPECT_EQ(CallLogLevel(grpc::StatusCode::FAILED_PRECONDITION), LogLevel::kInfo);
  EXPECT_EQ(CallLogLevel(grpc::StatusCode::UNAVAILABLE), LogLevel::kWarning);
  EXPECT_EQ(CallLogLevel(grpc::StatusCode::INTERNAL), LogLevel::kWarning);
}

class CallLogSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    previous_ = SetLogSink([this](LogLevel level, absl::string_view line) {
      lines_.emplace_back(level, std::string(line));
    });
    SetMinLogLevel(LogLevel::kDebug);
  }
  void TearDown() override {
    SetLogSink(std::move(previous_));
    SetMinLogLevel(LogLevel::kInfo);
  }

  LogSink previous_;
  std::vector<std::pair<LogLevel, std::string>> lines_;
};

TEST_F(CallLogSinkTest, FinishWritesOneLineOnceAndReturnsTheStatus) {
  CallLog log("DecryptMail", 100);
  log.set_caller("local-gateway");
  log.set_key("bank-decryption");
  log.add_input_bytes(20);
  const grpc::Status status(grpc::StatusCode::INVALID_ARGUMENT,
                            "the message could not be decrypted");
  const grpc::Status& returned = log.Finish(status, 0);
  EXPECT_EQ(&returned, &status);
  log.Finish(grpc::Status::OK, 99);
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_EQ(lines_[0].first, LogLevel::kInfo);
  EXPECT_THAT(lines_[0].second,
              MatchesRegex("call DecryptMail caller=local-gateway key=bank-decryption in=120 "
                           "out=0 status=INVALID_ARGUMENT ms=[0-9]+\\.[0-9] message=\"the message "
                           "could not be decrypted\""));
}

TEST_F(CallLogSinkTest, LinesBelowTheLevelAreNotWritten) {
  SetMinLogLevel(LogLevel::kInfo);
  EXPECT_FALSE(LogEnabled(LogLevel::kDebug));
  EXPECT_TRUE(LogEnabled(LogLevel::kInfo));
  CallLog("ListTokens").Finish(grpc::Status::OK, 42);
  EXPECT_TRUE(lines_.empty());
  CallLog("ListTokens").Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "no such token"), 0);
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_THAT(lines_[0].second, HasSubstr("status=NOT_FOUND"));
}

TEST_F(CallLogSinkTest, SuccessIsDebug) {
  CallLog("ListTokens").Finish(grpc::Status::OK, 42);
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_EQ(lines_[0].first, LogLevel::kDebug);
  EXPECT_THAT(lines_[0].second, HasSubstr("out=42 status=OK"));
}

}  // namespace
}  // namespace signet::server
