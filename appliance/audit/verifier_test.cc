#include "appliance/audit/verifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "appliance/audit/audit_log.h"
#include "appliance/audit/entry_json.h"
#include "appliance/audit/testing.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::audit {
namespace {

using ::signet::matchers::IsOk;
using ::testing::Not;

using ::testing::HasSubstr;
using testing::ReadLines;
using testing::Rechain;
using testing::TempDir;
using testing::TestEvent;
using testing::WriteLines;

// Every case below starts from a closed log with a checkpoint every 3
// records and 8 records; line n holds sequence n - 1:
//   0 header, 1 checkpoint, 2-4 records 0-2, 5 checkpoint, 6-8 records 3-5,
//   9 checkpoint, 10-11 records 6-7, 12 final checkpoint.
class VerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AuditLogOptions options;
    options.checkpoint_interval = 3;
    // Small, so that a removed checkpoint is caught by the count too.
    options.max_unsigned_records = 1;
    absl::StatusOr<std::unique_ptr<AuditLog>> log =
        AuditLog::Open(path_, testing::SignerFor(testing::RsaKey()), options);
    ASSERT_THAT(log, IsOk());
    for (int i = 0; i < 8; ++i) ASSERT_THAT((*log)->Append(TestEvent(i)), IsOk());
    ASSERT_THAT((*log)->Close(), IsOk());
    lines_ = ReadLines(path_);
    ASSERT_EQ(lines_.size(), 13u);
  }

  absl::StatusOr<AuditReport> Verify(EVP_PKEY* key = testing::RsaKey()) {
    absl::StatusOr<AuditPublicKey> public_key = AuditPublicKey::FromKey(key);
    if (!public_key.ok()) return public_key.status();
    return VerifyAuditLog(path_, *public_key);
  }

  // Writes `lines`, verifies, and expects DATA_LOSS saying `what`.
  void ExpectDetected(const std::vector<std::string>& lines, absl::string_view what) {
    WriteLines(path_, lines);
    absl::StatusOr<AuditReport> report = Verify();
    ASSERT_THAT(report, Not(IsOk())) << "not detected: " << what;
    EXPECT_EQ(report.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(std::string(report.status().message()), HasSubstr(what));
  }

  // The line with one field of its entry changed (and its chain hash kept).
  static std::string Edit(const std::string& line, const std::function<void(v1::Entry&)>& edit) {
    absl::StatusOr<v1::Entry> entry = ParseEntryJson(line);
    EXPECT_THAT(entry, IsOk());
    edit(*entry);
    absl::StatusOr<std::string> json = EntryToJsonLine(*entry);
    EXPECT_THAT(json, IsOk());
    json->pop_back();
    return *json;
  }

  static std::string ForgedRecord() {
    v1::Entry entry;
    entry.mutable_record()->set_caller("mx1");
    entry.mutable_record()->set_operation("SIGN_MAIL");
    entry.mutable_record()->set_key("bank-signing");
    entry.mutable_record()->set_result("OK");
    absl::StatusOr<std::string> json = EntryToJsonLine(entry);
    json->pop_back();
    return *json;
  }

  TempDir dir_;
  const std::string path_ = dir_.File("audit.log");
  std::vector<std::string> lines_;
};

TEST_F(VerifierTest, AnUntouchedLogVerifies) {
  absl::StatusOr<AuditReport> report = Verify();
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->entries, 13u);
  EXPECT_EQ(report->records, 8u);
  EXPECT_EQ(report->checkpoints, 4u);
  EXPECT_EQ(report->reopens, 0u);
  EXPECT_EQ(report->last_sequence, 12u);
  EXPECT_EQ(report->last_checkpoint_sequence, 12u);
  EXPECT_EQ(report->unsigned_records, 0u);
  EXPECT_TRUE(report->closed);
  EXPECT_EQ(report->log_id_hex.size(), 32u);
  EXPECT_EQ(report->last_chain_hash_hex.size(), 64u);
}

TEST_F(VerifierTest, WithTheKeyAsTheOperatorHasIt) {
  for (const std::string& form :
       {testing::CertificatePem(testing::RsaKey()), testing::PublicKeyPem(testing::RsaKey())}) {
    absl::StatusOr<AuditPublicKey> key = AuditPublicKey::Parse(form);
    ASSERT_THAT(key, IsOk());
    EXPECT_THAT(VerifyAuditLog(path_, *key), IsOk());
  }
}

TEST_F(VerifierTest, AnEditedFieldIsDetected) {
  lines_[6] = Edit(lines_[6], [](v1::Entry& e) { e.mutable_record()->set_caller("intruder"); });
  ExpectDetected(lines_, "line 7 (sequence 6): the chain hash does not match");
}

TEST_F(VerifierTest, AnEditedResultIsDetected) {
  // Record 4 failed (TestEvent makes every fifth fail); make it look fine.
  ASSERT_THAT(lines_[7], HasSubstr("UNAVAILABLE"));
  lines_[7] = Edit(lines_[7], [](v1::Entry& e) {
    e.mutable_record()->set_result("OK");
    e.mutable_record()->clear_reason();
  });
  ExpectDetected(lines_, "line 8 (sequence 7): the chain hash does not match");
}

TEST_F(VerifierTest, AnEditedFieldWithARecomputedChainIsDetectedByTheCheckpoint) {
  lines_[6] = Edit(lines_[6], [](v1::Entry& e) { e.mutable_record()->set_caller("intruder"); });
  ExpectDetected(Rechain(lines_),
                 "line 10 (sequence 9): the checkpoint's signature does not verify");
}

TEST_F(VerifierTest, ARemovedLineIsDetected) {
  lines_.erase(lines_.begin() + 6);
  ExpectDetected(lines_,
                 "line 7 (sequence 7): sequence 7 where 6 was expected: entry 6 is missing");
}

TEST_F(VerifierTest, ARemovedLineWithARecomputedChainIsDetectedByTheCheckpoint) {
  lines_.erase(lines_.begin() + 6);
  ExpectDetected(Rechain(lines_),
                 "line 9 (sequence 8): the checkpoint's signature does not verify");
}

TEST_F(VerifierTest, ARemovedHeaderIsDetected) {
  lines_.erase(lines_.begin());
  ExpectDetected(lines_, "line 1 (sequence 1): not the log's header");
}

TEST_F(VerifierTest, SwappedLinesAreDetected) {
  std::swap(lines_[6], lines_[7]);
  ExpectDetected(lines_, "line 7 (sequence 7): sequence 7 where 6 was expected");
  ExpectDetected(Rechain(lines_),
                 "line 10 (sequence 9): the checkpoint's signature does not verify");
}

TEST_F(VerifierTest, ADuplicatedLineIsDetected) {
  lines_.insert(lines_.begin() + 7, lines_[6]);
  ExpectDetected(lines_,
                 "line 8 (sequence 6): sequence 6 where 7 was expected: a repeated or "
                 "reordered entry");
}

TEST_F(VerifierTest, AForgedLineWithARecomputedChainIsDetectedByTheCheckpoint) {
  // Between records 6 and 7, where it keeps within the checkpoint interval.
  lines_.insert(lines_.begin() + 11, ForgedRecord());
  ExpectDetected(Rechain(lines_),
                 "line 14 (sequence 13): the checkpoint's signature does not verify");
}

TEST_F(VerifierTest, AForgedLineBeyondTheIntervalIsDetected) {
  lines_.insert(lines_.begin() + 7, ForgedRecord());
  // The forged record pushes the next checkpoint's entry one further: the
  // chain it signed is not the chain it now ends.
  ExpectDetected(Rechain(lines_),
                 "line 11 (sequence 10): the checkpoint's signature does not verify");
}

TEST_F(VerifierTest, AForgedLineAfterTheClosingCheckpointIsDetected) {
  lines_.push_back(ForgedRecord());
  ExpectDetected(Rechain(lines_), "line 14 (sequence 13): an entry after the closing checkpoint");
}

// The honest limit: while the log is open, records after the last
// checkpoint are covered by no signature yet, so a record forged there is
// only reported as unsigned.
TEST_F(VerifierTest, AForgedLineAfterTheLastCheckpointOfAnOpenLogIsOnlyUnsigned) {
  lines_.pop_back();  // the final checkpoint, as if the log were still open
  lines_.push_back(ForgedRecord());
  WriteLines(path_, Rechain(lines_));
  absl::StatusOr<AuditReport> report = Verify();
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->unsigned_records, 3u);
  EXPECT_FALSE(report->closed);
}

TEST_F(VerifierTest, ALineCutShortIsDetected) {
  lines_.back().resize(lines_.back().size() / 2);
  WriteLines(path_, lines_);
  // WriteLines ends every line; a cut leaves the last one open.
  std::string contents = testing::ReadFile(path_);
  contents.pop_back();
  testing::WriteFile(path_, contents);
  absl::StatusOr<AuditReport> report = Verify();
  ASSERT_THAT(report, Not(IsOk()));
  EXPECT_THAT(std::string(report.status().message()), HasSubstr("line 13 is incomplete"));
}

TEST_F(VerifierTest, ATruncationAfterTheLastCheckpointShowsAsUnsignedRecords) {
  lines_.pop_back();
  WriteLines(path_, lines_);
  absl::StatusOr<AuditReport> report = Verify();
  ASSERT_THAT(report, IsOk());
  EXPECT_FALSE(report->closed);
  EXPECT_EQ(report->unsigned_records, 2u);
  EXPECT_EQ(report->last_checkpoint_sequence, 9u);
}

// Cut right after a checkpoint, a log looks like one still open: only the
// report's end (last sequence, not closed) can be compared with what was
// recorded elsewhere.
TEST_F(VerifierTest, ATruncationAtACheckpointShowsOnlyInTheReportsEnd) {
  lines_.resize(10);
  WriteLines(path_, lines_);
  absl::StatusOr<AuditReport> report = Verify();
  ASSERT_THAT(report, IsOk());
  EXPECT_FALSE(report->closed);
  EXPECT_EQ(report->unsigned_records, 0u);
  EXPECT_EQ(report->last_sequence, 9u);
}

TEST_F(VerifierTest, AMissingSignatureIsDetected) {
  lines_[5] = Edit(lines_[5], [](v1::Entry& e) { e.mutable_checkpoint()->clear_signature(); });
  ExpectDetected(Rechain(lines_), "line 6 (sequence 5): the checkpoint has no signature");
}

TEST_F(VerifierTest, ABadSignatureIsDetected) {
  lines_[5] = Edit(lines_[5],
                   [](v1::Entry& e) { (*e.mutable_checkpoint()->mutable_signature())[10] ^= 1; });
  ExpectDetected(Rechain(lines_),
                 "line 6 (sequence 5): the checkpoint's signature does not verify");
}

TEST_F(VerifierTest, ARemovedCheckpointIsDetected) {
  lines_.erase(lines_.begin() + 5);
  ExpectDetected(Rechain(lines_),
                 "line 7 (sequence 6): more than 4 records (the checkpoint interval and the "
                 "records a checkpoint may wait for) without a checkpoint");
}

TEST_F(VerifierTest, ACheckpointOverAnotherEntryIsDetected) {
  lines_[5] =
      Edit(lines_[5], [](v1::Entry& e) { e.mutable_checkpoint()->set_covered_sequence(2); });
  ExpectDetected(Rechain(lines_, /*fix_checkpoints=*/false),
                 "line 6 (sequence 5): the checkpoint covers sequence 2, not the entry before it");
}

TEST_F(VerifierTest, AnUnsignedOpeningIsDetected) {
  lines_.erase(lines_.begin() + 1);
  ExpectDetected(Rechain(lines_),
                 "line 2 (sequence 1): no checkpoint right after the log's header");
}

// Someone without the audit key writes a whole log of their own: header,
// records, no checkpoint (none they could sign).
TEST_F(VerifierTest, AWholeLogWrittenWithoutTheKeyIsDetected) {
  std::vector<std::string> forged = {lines_[0], ForgedRecord(), ForgedRecord()};
  ExpectDetected(Rechain(forged), "line 2 (sequence 1): no checkpoint right after");
}

TEST_F(VerifierTest, TheWrongKeyIsDetected) {
  absl::StatusOr<AuditReport> report = Verify(testing::EcKey());
  ASSERT_THAT(report, Not(IsOk()));
  EXPECT_EQ(report.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(report.status().message()),
              HasSubstr("line 2 (sequence 1): the checkpoint is signed by another audit key"));
  EvpPkeyPtr other_rsa = testing::NewRsaKey();
  EXPECT_THAT(Verify(other_rsa.get()), Not(IsOk()));
}

TEST_F(VerifierTest, EntriesOfAnotherLogAreDetected) {
  lines_.insert(lines_.begin() + 6, lines_[0]);
  ExpectDetected(lines_, "line 7 (sequence 0): a second header");
}

TEST_F(VerifierTest, AnAddedJsonFieldIsDetected) {
  lines_[6].insert(1, R"("note":"x",)");
  ExpectDetected(lines_, "line 7: not an audit entry");
}

TEST_F(VerifierTest, AReopenThatMiscountsIsDetected) {
  AuditLogOptions options;
  options.checkpoint_interval = 3;
  absl::StatusOr<std::unique_ptr<AuditLog>> log =
      AuditLog::Open(path_, testing::SignerFor(testing::RsaKey()), options);
  ASSERT_THAT(log, IsOk());
  ASSERT_THAT((*log)->Close(), IsOk());
  std::vector<std::string> lines = ReadLines(path_);
  ASSERT_THAT(Verify(), IsOk());
  lines[13] = Edit(lines[13], [](v1::Entry& e) { e.mutable_reopen()->set_unsealed_records(2); });
  ExpectDetected(Rechain(lines), "line 14 (sequence 13): the reopen entry counts 2");
}

TEST_F(VerifierTest, AnEmptyOrMissingFile) {
  WriteLines(path_, {});
  absl::StatusOr<AuditReport> report = Verify();
  EXPECT_EQ(report.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(report.status().message()), HasSubstr("is empty"));
  std::filesystem::remove(path_);
  EXPECT_EQ(Verify().status().code(), absl::StatusCode::kNotFound);
}

TEST_F(VerifierTest, ALineThatIsNotJsonIsDetected) {
  lines_[3] = "garbage";
  ExpectDetected(lines_, "line 4: not an audit entry");
}

}  // namespace
}  // namespace signet::audit
