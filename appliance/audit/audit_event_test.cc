#include "appliance/audit/audit_event.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "appliance/audit/input_digest.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::audit {
namespace {

using ::signet::matchers::IsOk;

using ::testing::HasSubstr;

AuditEvent Event() {
  AuditEvent event;
  event.caller = "mx1";
  event.operation = "SIGN_MAIL";
  event.key = "bank-signing";
  event.input_sha256 = InputDigest("a mail");
  return event;
}

TEST(InputDigestTest, IsSha256) {
  EXPECT_EQ(absl::BytesToHexString(InputDigest("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(InputDigestTest, ChunkedInputGivesTheSameDigest) {
  InputDigester digester;
  digester.Update("a");
  digester.Update("");
  digester.Update("bc");
  EXPECT_EQ(digester.Finish(), InputDigest("abc"));
  // And starts over.
  digester.Update("abc");
  EXPECT_EQ(digester.Finish(), InputDigest("abc"));
}

TEST(MakeRecordTest, AnOperationThatSucceeded) {
  absl::StatusOr<v1::Record> record = MakeRecord(Event());
  ASSERT_THAT(record, IsOk());
  EXPECT_EQ(record->caller(), "mx1");
  EXPECT_EQ(record->operation(), "SIGN_MAIL");
  EXPECT_EQ(record->key(), "bank-signing");
  EXPECT_EQ(record->input_sha256(), InputDigest("a mail"));
  EXPECT_EQ(record->result(), "OK");
  EXPECT_EQ(record->reason(), "");
}

TEST(MakeRecordTest, ATimestampIsRecordedAndKeptUtf8) {
  EXPECT_EQ(MakeRecord(Event())->timestamp_serial_hex(), "");
  AuditEvent event = Event();
  event.timestamp_serial_hex = "1A2B";
  event.timestamp_tsa = "CN=Bank TSA";
  event.timestamp_problem = std::string("http://tsa.example/: refused\xff and more");
  absl::StatusOr<v1::Record> record = MakeRecord(event);
  ASSERT_THAT(record, IsOk());
  EXPECT_EQ(record->timestamp_serial_hex(), "1A2B");
  EXPECT_EQ(record->timestamp_tsa(), "CN=Bank TSA");
  EXPECT_EQ(record->timestamp_problem(), "http://tsa.example/: refused");
}

TEST(MakeRecordTest, ASkippedRecipientValidationIsRecorded) {
  EXPECT_FALSE(MakeRecord(Event())->recipient_validation_skipped());
  AuditEvent event = Event();
  event.recipient_validation_skipped = true;
  absl::StatusOr<v1::Record> record = MakeRecord(event);
  ASSERT_THAT(record, IsOk());
  EXPECT_TRUE(record->recipient_validation_skipped());
}

TEST(MakeRecordTest, ATimestampIsRecorded) {
  EXPECT_EQ(MakeRecord(Event())->timestamp_serial_hex(), "");
  AuditEvent event = Event();
  event.operation = "TIMESTAMP";
  event.timestamp_serial_hex = "0401";
  event.timestamp_tsa = "CN=Bank TSA";
  event.timestamp_problem = std::string(300, 'p');
  absl::StatusOr<v1::Record> record = MakeRecord(event);
  ASSERT_THAT(record, IsOk());
  EXPECT_EQ(record->timestamp_serial_hex(), "0401");
  EXPECT_EQ(record->timestamp_tsa(), "CN=Bank TSA");
  EXPECT_EQ(record->timestamp_problem(), std::string(kMaxReasonBytes, 'p') + "...");
  event.timestamp_tsa = "\xff";
  EXPECT_FALSE(MakeRecord(event).ok());
}

TEST(MakeRecordTest, AFailureKeepsItsCodeNameAndAShortReason) {
  AuditEvent event = Event();
  absl::Status failure = absl::UnavailableError(std::string(500, 'r'));
  failure.SetPayload("type.googleapis.com/signet.v1.ErrorDetails", absl::Cord("CKR_X"));
  event.result = failure;
  absl::StatusOr<v1::Record> record = MakeRecord(event);
  ASSERT_THAT(record, IsOk());
  EXPECT_EQ(record->result(), "UNAVAILABLE");
  EXPECT_EQ(record->reason(), std::string(kMaxReasonBytes, 'r') + "...");
}

TEST(MakeRecordTest, AReasonIsCutAtACharacterBoundary) {
  AuditEvent event = Event();
  // 'é' is two bytes; 199 ASCII bytes put one across the limit.
  event.result = absl::PermissionDeniedError(std::string(kMaxReasonBytes - 1, 'a') + "éé");
  absl::StatusOr<v1::Record> record = MakeRecord(event);
  ASSERT_THAT(record, IsOk());
  EXPECT_EQ(record->result(), "PERMISSION_DENIED");
  EXPECT_EQ(record->reason(), std::string(kMaxReasonBytes - 1, 'a') + "...");
}

TEST(MakeRecordTest, AnOperationWithoutInput) {
  AuditEvent event = Event();
  event.input_sha256.clear();
  EXPECT_THAT(MakeRecord(event), IsOk());
}

TEST(MakeRecordTest, RefusesWhatARecordCannotHold) {
  AuditEvent event = Event();
  event.input_sha256 = "not a digest";
  EXPECT_THAT(std::string(MakeRecord(event).status().message()),
              HasSubstr("input digest has 12 bytes"));

  event = Event();
  event.caller = std::string(kMaxNameBytes + 1, 'c');
  EXPECT_THAT(std::string(MakeRecord(event).status().message()),
              HasSubstr("caller is longer than"));

  for (const char* bad : {"\xff", "\xc0\xaf", "\xed\xa0\x80", "a\xe2\x82"}) {
    event = Event();
    event.key = bad;
    absl::StatusOr<v1::Record> record = MakeRecord(event);
    EXPECT_EQ(record.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(record.status().message()), HasSubstr("key is not UTF-8"));
  }
  event = Event();
  event.caller = "Zoë 😀";
  EXPECT_THAT(MakeRecord(event), IsOk());
}

}  // namespace
}  // namespace signet::audit
