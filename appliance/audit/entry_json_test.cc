#include "appliance/audit/entry_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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
