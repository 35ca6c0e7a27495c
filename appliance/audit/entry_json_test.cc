#include "appliance/audit/entry_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "appliance/audit/input_digest.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::audit {
namespace {

using ::signet::matchers::IsOk;

using ::testing::HasSubstr;
using ::testing::Not;

v1::Entry SampleRecord() {
  v1::Entry entry;
  entry.set_sequence(12);
  v1::Record* record = entry.mutable_record();
  record->mutable_time()->set_seconds(1700000000);
  record->mutable_time()->set_nanos(123456789);
  record->set_caller("mx1");
  record->set_operation("SIGN_MAIL");
  record->set_key("bank-signing");
  record->set_input_sha256(InputDigest("a mail"));
  record->set_result("OK");
  entry.set_chain_hash(std::string(32, '\x01'));
  return entry;
}

TEST(EntryJsonTest, OneLineWithTheProtoFieldNames) {
  absl::StatusOr<std::string> line = EntryToJsonLine(SampleRecord());
  ASSERT_THAT(line, IsOk());
  EXPECT_EQ(line->back(), '\n');
  EXPECT_EQ(line->find('\n'), line->size() - 1);
  EXPECT_THAT(*line, HasSubstr(R"("input_sha256":)"));
  EXPECT_THAT(*line, HasSubstr(R"("chain_hash":)"));
  EXPECT_THAT(*line, HasSubstr(R"("time":"2023-11-14T22:13:20.123456789Z")"));
  EXPECT_THAT(*line, HasSubstr(R"("sequence":"12")"));
}

// Records are written directly, not through protobuf's printer: the text
// must be the very same, whatever the fields hold.
TEST(EntryJsonTest, RecordsAreWrittenExactlyAsProtobufWritesThem) {
  std::vector<v1::Entry> entries;
  entries.push_back(SampleRecord());
  for (const int32_t nanos : {0, 5000000, 123000, 1, 999999999}) {
    v1::Entry entry = SampleRecord();
    entry.mutable_record()->mutable_time()->set_nanos(nanos);
    entries.push_back(entry);
  }
  {
    v1::Entry entry = SampleRecord();
    entry.set_sequence(0);
    entry.mutable_record()->clear_time();
    entry.mutable_record()->clear_caller();
    entry.clear_chain_hash();
    entries.push_back(entry);
  }
  {
    v1::Entry entry = SampleRecord();
    v1::Record* record = entry.mutable_record();
    record->mutable_time()->set_seconds(253402300799);
    record->set_result("FAILED_PRECONDITION");
    record->set_reason("the signer's certificate is not for its key");
    record->set_recipient_validation_skipped(true);
    record->set_timestamp_serial_hex("01ab");
    record->set_timestamp_tsa("http://tsa.example/");
    record->set_timestamp_problem("no answer");
    entry.set_sequence(UINT64_MAX);
    entries.push_back(entry);
  }
  // Text protobuf escapes, and a time before 1970: protobuf writes these.
  for (const char* text : {"a \"quoted\" <key> & 'more'=", "tab\there", "caf\xc3\xa9", "\x7f"}) {
    v1::Entry entry = SampleRecord();
    entry.mutable_record()->set_caller(text);
    entry.mutable_record()->set_reason(text);
    entries.push_back(entry);
  }
  {
    v1::Entry entry = SampleRecord();
    entry.mutable_record()->mutable_time()->set_seconds(-1);
    entries.push_back(entry);
  }
  // Not records: protobuf's printer, as before.
  {
    v1::Entry entry;
    entry.set_sequence(3);
    entry.mutable_checkpoint()->set_covered_sequence(2);
    entries.push_back(entry);
  }
  for (const v1::Entry& entry : entries) {
    absl::StatusOr<std::string> direct = EntryToJsonLine(entry);
    absl::StatusOr<std::string> printed = ProtobufJsonLine(entry);
    ASSERT_THAT(direct, IsOk());
    ASSERT_THAT(printed, IsOk());
    EXPECT_EQ(*direct, *printed) << entry.DebugString();
  }
}

TEST(EntryJsonTest, ParsesBackToTheSameMessage) {
  const v1::Entry entry = SampleRecord();
  absl::StatusOr<std::string> line = EntryToJsonLine(entry);
  ASSERT_THAT(line, IsOk());
  line->pop_back();
  absl::StatusOr<v1::Entry> parsed = ParseEntryJson(*line);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->SerializeAsString(), entry.SerializeAsString());
}

TEST(EntryJsonTest, AnUnknownFieldIsAnError) {
  absl::StatusOr<v1::Entry> parsed =
      ParseEntryJson(R"({"sequence":"1","record":{"caller":"mx1","note":"added"}})");
  ASSERT_THAT(parsed, Not(IsOk()));
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kDataLoss);
}

TEST(EntryJsonTest, TextThatIsNotJsonIsAnError) {
  EXPECT_THAT(ParseEntryJson("sequence=1"), Not(IsOk()));
  EXPECT_THAT(ParseEntryJson(""), Not(IsOk()));
  EXPECT_THAT(ParseEntryJson(R"({"sequence":"1")"), Not(IsOk()));
}

}  // namespace
}  // namespace signet::audit
