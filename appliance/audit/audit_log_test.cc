#include "appliance/audit/audit_log.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "appliance/audit/entry_json.h"
#include "appliance/audit/input_digest.h"
#include "appliance/audit/testing.h"
#include "appliance/audit/verifier.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::audit {
namespace {

using ::signet::matchers::IsOk;

using ::testing::HasSubstr;
using ::testing::Not;
using testing::ReadFile;
using testing::ReadLines;
using testing::SignerFor;
using testing::TempDir;
using testing::TestEvent;

absl::StatusOr<AuditReport> Verify(const std::string& path, EVP_PKEY* key) {
  absl::StatusOr<AuditPublicKey> public_key = AuditPublicKey::FromKey(key);
  if (!public_key.ok()) return public_key.status();
  return VerifyAuditLog(path, *public_key);
}

std::vector<v1::Entry> Entries(const std::string& path) {
  std::vector<v1::Entry> entries;
  for (const std::string& line : ReadLines(path)) {
    absl::StatusOr<v1::Entry> entry = ParseEntryJson(line);
    EXPECT_THAT(entry, IsOk());
    if (entry.ok()) entries.push_back(*std::move(entry));
  }
  return entries;
}

AuditLogOptions Interval(uint32_t interval) {
  AuditLogOptions options;
  options.checkpoint_interval = interval;
  return options;
}

// `threads` appenders of `per_thread` records each, all at once; each
// thread's sequences, in the order it got them.
std::vector<std::vector<uint64_t>> AppendConcurrently(
    AuditLog& log, int threads, int per_thread,
    const std::function<AuditEvent(int thread, int record)>& event) {
  std::vector<std::vector<uint64_t>> sequences(threads);
  std::vector<std::thread> appenders;
  for (int t = 0; t < threads; ++t) {
    appenders.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        absl::StatusOr<uint64_t> sequence = log.Append(event(t, i));
        if (!sequence.ok()) {
          ADD_FAILURE() << sequence.status();
          return;
        }
        sequences[t].push_back(*sequence);
      }
    });
  }
  for (std::thread& appender : appenders) appender.join();
  return sequences;
}

// Every record appended got its own sequence, and each thread's rose in the
// order it appended them; `all` gets every sequence.
void ExpectEachOnceInOrder(const std::vector<std::vector<uint64_t>>& sequences, int per_thread,
                           std::set<uint64_t>& all) {
  for (const std::vector<uint64_t>& mine : sequences) {
    ASSERT_EQ(mine.size(), static_cast<size_t>(per_thread));
    EXPECT_TRUE(std::is_sorted(mine.begin(), mine.end()));
    all.insert(mine.begin(), mine.end());
  }
  EXPECT_EQ(all.size(), sequences.size() * per_thread);
}

class AuditLogTest : public ::testing::TestWithParam<bool> {
 protected:
  EVP_PKEY* key() const { return GetParam() ? testing::RsaKey() : testing::EcKey(); }

  std::unique_ptr<AuditLog> Open(AuditLogOptions options = {}) {
    absl::StatusOr<std::unique_ptr<AuditLog>> log =
        AuditLog::Open(path_, SignerFor(key()), std::move(options));
    EXPECT_THAT(log, IsOk());
    return log.ok() ? *std::move(log) : nullptr;
  }

  TempDir dir_;
  const std::string path_ = dir_.File("audit.log");
};

INSTANTIATE_TEST_SUITE_P(RsaAndEc, AuditLogTest, ::testing::Bool(),
                         [](const auto& p) { return p.param ? "Rsa" : "EcP256"; });

TEST_P(AuditLogTest, WritesAChainOfJsonLinesThatVerifies) {
  std::unique_ptr<AuditLog> log = Open(Interval(4));
  ASSERT_NE(log, nullptr);
  const std::string log_id = log->log_id();
  EXPECT_EQ(log_id.size(), 16u);
  uint64_t last = 0;
  for (int i = 0; i < 10; ++i) {
    absl::StatusOr<uint64_t> sequence = log->Append(TestEvent(i));
    ASSERT_THAT(sequence, IsOk());
    EXPECT_GT(*sequence, last);
    last = *sequence;
  }
  ASSERT_THAT(log->Close(), IsOk());

  absl::StatusOr<AuditReport> report = Verify(path_, key());
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->records, 10u);
  // One when opened, after records 4 and 8, and the final one.
  EXPECT_EQ(report->checkpoints, 4u);
  EXPECT_EQ(report->last_sequence, 14u);
  EXPECT_EQ(report->last_checkpoint_sequence, 14u);
  EXPECT_EQ(report->unsigned_records, 0u);
  EXPECT_TRUE(report->closed);
  EXPECT_EQ(report->log_id_hex, absl::BytesToHexString(log_id));

  std::vector<v1::Entry> entries = Entries(path_);
  ASSERT_EQ(entries.size(), 15u);
  EXPECT_EQ(entries[0].header().log_id(), log_id);
  EXPECT_EQ(entries[0].header().checkpoint_interval(), 4u);
  EXPECT_TRUE(entries[1].has_checkpoint());
  int n = 0;
  for (const v1::Entry& entry : entries) {
    if (!entry.has_record()) continue;
    const AuditEvent event = TestEvent(n++);
    EXPECT_EQ(entry.record().caller(), event.caller);
    EXPECT_EQ(entry.record().operation(), event.operation);
    EXPECT_EQ(entry.record().key(), event.key);
    EXPECT_EQ(entry.record().input_sha256(), event.input_sha256);
    EXPECT_EQ(entry.record().result(), event.result.ok() ? "OK" : "UNAVAILABLE");
    EXPECT_EQ(entry.record().reason(), event.result.message());
    EXPECT_GT(entry.record().time().seconds(), 0);
  }
  EXPECT_TRUE(entries.back().checkpoint().final());
  // jq-friendly: the proto's own field names.
  EXPECT_THAT(ReadLines(path_)[2], HasSubstr(R"("record":{"time":")"));
}

TEST_P(AuditLogTest, ReopeningContinuesTheChain) {
  std::unique_ptr<AuditLog> log = Open(Interval(2));
  ASSERT_NE(log, nullptr);
  const std::string log_id = log->log_id();
  for (int i = 0; i < 3; ++i) ASSERT_THAT(log->Append(TestEvent(i)), IsOk());
  ASSERT_THAT(log->Close(), IsOk());
  const std::string before = ReadFile(path_);

  log = Open(Interval(5));
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->log_id(), log_id);
  absl::StatusOr<uint64_t> sequence = log->Append(TestEvent(3));
  ASSERT_THAT(sequence, IsOk());
  // Header, checkpoint, r, r, checkpoint, r, final checkpoint, reopen,
  // checkpoint: the next record is 9.
  EXPECT_EQ(*sequence, 9u);
  ASSERT_THAT(log->Close(), IsOk());
  // Appended to, not rewritten.
  EXPECT_EQ(ReadFile(path_).substr(0, before.size()), before);

  absl::StatusOr<AuditReport> report = Verify(path_, key());
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->records, 4u);
  EXPECT_EQ(report->reopens, 1u);
  EXPECT_TRUE(report->closed);
  std::vector<v1::Entry> entries = Entries(path_);
  ASSERT_EQ(entries.size(), 11u);
  EXPECT_EQ(entries[7].reopen().unsealed_records(), 0u);
  EXPECT_EQ(entries[7].reopen().checkpoint_interval(), 5u);
}

TEST_P(AuditLogTest, ReopeningAfterACrashSealsTheUnsignedRecords) {
  std::unique_ptr<AuditLog> log = Open(Interval(100));
  ASSERT_NE(log, nullptr);
  for (int i = 0; i < 5; ++i) ASSERT_THAT(log->Append(TestEvent(i)), IsOk());
  // What a crash leaves: every record whose Append returned, no final
  // checkpoint.
  const std::string crashed = dir_.File("crashed.log");
  std::filesystem::copy_file(path_, crashed);
  ASSERT_THAT(log->Close(), IsOk());

  absl::StatusOr<AuditReport> report = Verify(crashed, key());
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->unsigned_records, 5u);
  EXPECT_FALSE(report->closed);

  absl::StatusOr<std::unique_ptr<AuditLog>> reopened =
      AuditLog::Open(crashed, SignerFor(key()), Interval(100));
  ASSERT_THAT(reopened, IsOk());
  ASSERT_THAT((*reopened)->Close(), IsOk());
  report = Verify(crashed, key());
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->unsigned_records, 0u);
  EXPECT_EQ(report->reopens, 1u);
  EXPECT_EQ(Entries(crashed)[7].reopen().unsealed_records(), 5u);
}

TEST_P(AuditLogTest, RefusesToAppendToALogThatDoesNotVerify) {
  std::unique_ptr<AuditLog> log = Open();
  ASSERT_NE(log, nullptr);
  ASSERT_THAT(log->Append(TestEvent(1)), IsOk());
  ASSERT_THAT(log->Close(), IsOk());
  std::vector<std::string> lines = ReadLines(path_);
  ASSERT_THAT(lines[2], HasSubstr(R"("caller":"mx1")"));
  lines[2].replace(lines[2].find("mx1"), 3, "mx2");
  testing::WriteLines(path_, lines);
  const std::string tampered = ReadFile(path_);

  absl::StatusOr<std::unique_ptr<AuditLog>> reopened = AuditLog::Open(path_, SignerFor(key()));
  ASSERT_THAT(reopened, Not(IsOk()));
  EXPECT_EQ(reopened.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(reopened.status().message()),
              HasSubstr("refusing to append to an audit log that does not verify"));
  EXPECT_THAT(std::string(reopened.status().message()), HasSubstr("line 3 (sequence 2)"));
  EXPECT_EQ(ReadFile(path_), tampered);
}

TEST_P(AuditLogTest, RefusesALogSignedByAnotherKey) {
  std::unique_ptr<AuditLog> log = Open();
  ASSERT_NE(log, nullptr);
  ASSERT_THAT(log->Close(), IsOk());
  EVP_PKEY* other = GetParam() ? testing::EcKey() : testing::RsaKey();
  absl::StatusOr<std::unique_ptr<AuditLog>> reopened = AuditLog::Open(path_, SignerFor(other));
  ASSERT_THAT(reopened, Not(IsOk()));
  EXPECT_THAT(std::string(reopened.status().message()), HasSubstr("signed by another audit key"));
}

TEST_P(AuditLogTest, RefusesALogWhoseLastWriteWasCutShort) {
  std::unique_ptr<AuditLog> log = Open();
  ASSERT_NE(log, nullptr);
  ASSERT_THAT(log->Close(), IsOk());
  std::string contents = ReadFile(path_);
  contents.resize(contents.size() - 20);
  testing::WriteFile(path_, contents);
  absl::StatusOr<std::unique_ptr<AuditLog>> reopened = AuditLog::Open(path_, SignerFor(key()));
  ASSERT_THAT(reopened, Not(IsOk()));
  EXPECT_THAT(std::string(reopened.status().message()), HasSubstr("line 3 is incomplete"));
}

TEST_P(AuditLogTest, AnEmptyFileStartsAFreshLog) {
  testing::WriteFile(path_, "");
  std::unique_ptr<AuditLog> log = Open();
  ASSERT_NE(log, nullptr);
  ASSERT_THAT(log->Close(), IsOk());
  EXPECT_THAT(Verify(path_, key()), IsOk());
}

TEST_P(AuditLogTest, OneProcessAtATime) {
  std::unique_ptr<AuditLog> log = Open();
  ASSERT_NE(log, nullptr);
  absl::StatusOr<std::unique_ptr<AuditLog>> second = AuditLog::Open(path_, SignerFor(key()));
  ASSERT_THAT(second, Not(IsOk()));
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("open in another process"));
  EXPECT_THAT(log->Append(TestEvent(0)), IsOk());
}

TEST_P(AuditLogTest, AnEventARecordCannotHoldLeavesTheLogWorking) {
  std::unique_ptr<AuditLog> log = Open();
  ASSERT_NE(log, nullptr);
  AuditEvent event = TestEvent(0);
  event.caller = "\xff";
  EXPECT_EQ(log->Append(event).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(log->Append(TestEvent(1)), IsOk());
  EXPECT_THAT(log->status(), IsOk());
}

TEST_P(AuditLogTest, AppendsAfterCloseAreRefused) {
  std::unique_ptr<AuditLog> log = Open();
  ASSERT_NE(log, nullptr);
  ASSERT_THAT(log->Close(), IsOk());
  EXPECT_THAT(log->Close(), IsOk());
  EXPECT_EQ(log->Append(TestEvent(0)).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(log->status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_P(AuditLogTest, NeverWritesTheInputOrKeyMaterial) {
  const std::string pin = "PIN-7391-correct-horse-battery-staple";
  const std::string private_key = testing::PrivateKeyDer(key());
  std::unique_ptr<AuditLog> log = Open();
  ASSERT_NE(log, nullptr);
  for (const std::string& secret : {pin, private_key}) {
    AuditEvent event = TestEvent(0);
    event.operation = "IMPORT_KEY";
    event.input_sha256 = InputDigest(secret);
    ASSERT_THAT(log->Append(event), IsOk());
  }
  ASSERT_THAT(log->Close(), IsOk());

  const std::string contents = ReadFile(path_);
  for (const std::string& secret : {pin, private_key}) {
    EXPECT_THAT(contents, Not(HasSubstr(secret)));
    EXPECT_THAT(contents, Not(HasSubstr(absl::Base64Escape(secret))));
    EXPECT_THAT(contents, Not(HasSubstr(absl::BytesToHexString(secret))));
    // Only its digest.
    EXPECT_THAT(contents, HasSubstr(absl::Base64Escape(InputDigest(secret))));
  }
  // Nor any long piece of the private key.
  const std::string key_base64 = absl::Base64Escape(private_key);
  for (size_t at = 0; at + 24 <= key_base64.size(); at += 24) {
    EXPECT_THAT(contents, Not(HasSubstr(key_base64.substr(at, 24))));
  }
}

// 8 threads × 500 appends: every record present once, the chain valid,
// each thread's records in the order it appended them, and far fewer
// fdatasyncs than records (group commit).
// The worker that did the work goes on while the record is synced; the
// callback comes once the record is durable, in order, on the writer thread.
TEST_P(AuditLogTest, AsyncAppendsReportTheirSequenceOnceDurable) {
  std::unique_ptr<AuditLog> log = Open(Interval(10));
  ASSERT_NE(log, nullptr);
  constexpr int kRecords = 200;
  std::mutex mutex;
  std::condition_variable all_done;
  std::vector<uint64_t> sequences;
  std::set<std::thread::id> callback_threads;
  for (int i = 0; i < kRecords; ++i) {
    ASSERT_THAT(log->AppendAsync(TestEvent(i),
                                 [&](absl::StatusOr<uint64_t> sequence) {
                                   ASSERT_THAT(sequence, IsOk());
                                   std::lock_guard lock(mutex);
                                   sequences.push_back(*sequence);
                                   callback_threads.insert(std::this_thread::get_id());
                                   all_done.notify_all();
                                 }),
                IsOk());
  }
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(all_done.wait_for(lock, std::chrono::seconds(30),
                                  [&] { return sequences.size() == kRecords; }));
    EXPECT_TRUE(std::is_sorted(sequences.begin(), sequences.end()));
    EXPECT_EQ(std::set<uint64_t>(sequences.begin(), sequences.end()).size(), sequences.size());
    EXPECT_EQ(callback_threads.size(), 1u);
    EXPECT_EQ(callback_threads.count(std::this_thread::get_id()), 0u);
  }
  ASSERT_THAT(log->Close(), IsOk());
  // Every reported sequence is a record in the file, which verifies.
  absl::StatusOr<AuditReport> report = Verify(path_, key());
  ASSERT_THAT(report, IsOk());
  std::set<uint64_t> in_file;
  for (const v1::Entry& entry : Entries(path_)) {
    if (entry.has_record()) in_file.insert(entry.sequence());
  }
  for (uint64_t sequence : sequences) EXPECT_TRUE(in_file.count(sequence)) << sequence;
  // And once closed, an async append is refused at once.
  EXPECT_EQ(
      log->AppendAsync(TestEvent(0),
                       [](absl::StatusOr<uint64_t>) { ADD_FAILURE() << "called after a refusal"; })
          .code(),
      absl::StatusCode::kFailedPrecondition);
}

TEST_P(AuditLogTest, ConcurrentAppendsAreGroupCommittedInOneOrder) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  auto syncs = std::make_shared<std::atomic<int>>(0);
  class CountingWriter : public LogWriter {
   public:
    CountingWriter(std::unique_ptr<LogWriter> real, std::shared_ptr<std::atomic<int>> syncs)
        : real_(std::move(real)), syncs_(std::move(syncs)) {}
    absl::Status Append(absl::string_view bytes) override { return real_->Append(bytes); }
    absl::Status Sync() override {
      ++*syncs_;
      return real_->Sync();
    }

   private:
    std::unique_ptr<LogWriter> real_;
    std::shared_ptr<std::atomic<int>> syncs_;
  };
  AuditLogOptions options = Interval(100);
  options.wrap_writer = [syncs](std::unique_ptr<LogWriter> real) {
    return std::make_unique<CountingWriter>(std::move(real), syncs);
  };
  std::unique_ptr<AuditLog> log = Open(std::move(options));
  ASSERT_NE(log, nullptr);

  const std::vector<std::vector<uint64_t>> sequences =
      AppendConcurrently(*log, kThreads, kPerThread, [](int t, int i) {
        AuditEvent event = TestEvent(i);
        event.caller = absl::StrCat("thread-", t);
        event.operation = absl::StrCat(i);
        return event;
      });
  ASSERT_THAT(log->Close(), IsOk());
  std::set<uint64_t> all;
  ASSERT_NO_FATAL_FAILURE(ExpectEachOnceInOrder(sequences, kPerThread, all));

  absl::StatusOr<AuditReport> report = Verify(path_, key());
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->records, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_TRUE(report->closed);

  std::vector<int> next(kThreads, 0);
  int64_t last_time = 0;
  for (const v1::Entry& entry : Entries(path_)) {
    if (!entry.has_record()) continue;
    const int t = std::stoi(entry.record().caller().substr(7));
    EXPECT_EQ(entry.record().operation(), absl::StrCat(next[t]++));
    EXPECT_TRUE(all.count(entry.sequence()));
    const int64_t time =
        entry.record().time().seconds() * 1000000000 + entry.record().time().nanos();
    EXPECT_GE(time, last_time);
    last_time = time;
  }
  EXPECT_LT(syncs->load(), kThreads * kPerThread);
  // The counters /metrics shows agree with the writer's own count.
  EXPECT_EQ(log->counters().syncs, static_cast<uint64_t>(syncs->load()));
  EXPECT_EQ(log->counters().records, static_cast<uint64_t>(kThreads * kPerThread));
  std::printf("%d records in %d fdatasyncs\n", kThreads * kPerThread, syncs->load());
}

// --- Group commit window ---------------------------------------------------

// Async answers, gathered for a test to wait on.
class Answers {
 public:
  AuditLog::AppendDone Done() {
    return [this](absl::StatusOr<uint64_t> sequence) {
      std::lock_guard lock(mutex_);
      answers_.push_back(std::move(sequence));
      changed_.notify_all();
    };
  }
  // False if fewer than `n` came within 30 s.
  bool WaitFor(size_t n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(30), [&] { return answers_.size() >= n; });
  }
  size_t size() {
    std::lock_guard lock(mutex_);
    return answers_.size();
  }
  std::vector<absl::StatusOr<uint64_t>> Get() {
    std::lock_guard lock(mutex_);
    return answers_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<absl::StatusOr<uint64_t>> answers_;
};

class AuditLogWindowTest : public ::testing::Test {
 protected:
  std::unique_ptr<AuditLog> Open(absl::Duration window) {
    AuditLogOptions options;
    options.group_commit_window = window;
    absl::StatusOr<std::unique_ptr<AuditLog>> log =
        AuditLog::Open(path_, SignerFor(testing::EcKey()), std::move(options));
    EXPECT_THAT(log, IsOk());
    return log.ok() ? *std::move(log) : nullptr;
  }

  TempDir dir_;
  const std::string path_ = dir_.File("audit.log");
};

// Records appended 50 ms apart, all within the window of the first, share
// one write and fdatasync; none is answered before the window has passed.
TEST_F(AuditLogWindowTest, RecordsAppendedWithinTheWindowShareOneSync) {
  constexpr absl::Duration kWindow = absl::Milliseconds(600);
  // Before the log: its callbacks may run until it is closed.
  Answers answers;
  std::unique_ptr<AuditLog> log = Open(kWindow);
  ASSERT_NE(log, nullptr);
  // The opening entries' sync.
  EXPECT_EQ(log->counters().syncs, 1u);
  const absl::Time first = absl::Now();
  ASSERT_THAT(log->AppendAsync(TestEvent(0), answers.Done()), IsOk());
  for (int i = 1; i < 4; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
    ASSERT_THAT(log->AppendAsync(TestEvent(i), answers.Done()), IsOk());
  }
  // A waiting Append is in the same batch as the async ones.
  absl::StatusOr<uint64_t> waited = log->Append(TestEvent(4));
  const absl::Duration took = absl::Now() - first;
  ASSERT_THAT(waited, IsOk());
  ASSERT_TRUE(answers.WaitFor(4));
  EXPECT_GE(took, kWindow);
  std::vector<absl::StatusOr<uint64_t>> got = answers.Get();
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_THAT(got[i], IsOk());
    // Header and checkpoint are 0 and 1: records are 2, 3, ...
    EXPECT_EQ(*got[i], 2 + i);
  }
  EXPECT_EQ(*waited, 6u);
  EXPECT_EQ(log->counters().syncs, 2u);
  EXPECT_EQ(log->counters().records, 5u);
  ASSERT_THAT(log->Close(), IsOk());
  EXPECT_EQ(log->counters().syncs, 3u);
  EXPECT_THAT(Verify(path_, testing::EcKey()), IsOk());
}

// Window 0 (the default): the writer takes a record as soon as it is free,
// so a record appended after the last was answered is synced on its own.
TEST_F(AuditLogWindowTest, WithoutAWindowEachLoneRecordIsSyncedAtOnce) {
  // Before the log: its callbacks may run until it is closed.
  Answers answers;
  std::unique_ptr<AuditLog> log = Open(absl::ZeroDuration());
  ASSERT_NE(log, nullptr);
  for (size_t i = 0; i < 3; ++i) {
    ASSERT_THAT(log->AppendAsync(TestEvent(static_cast<int>(i)), answers.Done()), IsOk());
    ASSERT_TRUE(answers.WaitFor(i + 1));
    EXPECT_EQ(log->counters().syncs, 2 + i);
    EXPECT_EQ(log->counters().records, 1 + i);
  }
  ASSERT_THAT(log->Close(), IsOk());
}

// Close() does not wait out the window: what is queued is written with the
// final checkpoint, in one sync, and every append is answered.
TEST_F(AuditLogWindowTest, CloseEndsTheWindowAndCommitsEverything) {
  // Before the log: its callbacks may run until it is closed.
  Answers answers;
  std::unique_ptr<AuditLog> log = Open(absl::Seconds(60));
  ASSERT_NE(log, nullptr);
  for (int i = 0; i < 3; ++i) ASSERT_THAT(log->AppendAsync(TestEvent(i), answers.Done()), IsOk());
  // Still in the window: not answered, not written.
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(answers.size(), 0u);
  EXPECT_EQ(log->counters().syncs, 1u);
  const absl::Time start = absl::Now();
  ASSERT_THAT(log->Close(), IsOk());
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  ASSERT_TRUE(answers.WaitFor(3));
  for (const absl::StatusOr<uint64_t>& answer : answers.Get()) EXPECT_THAT(answer, IsOk());
  EXPECT_EQ(log->counters().syncs, 2u);
  EXPECT_EQ(log->counters().records, 3u);
  absl::StatusOr<AuditReport> report = Verify(path_, testing::EcKey());
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->records, 3u);
  EXPECT_TRUE(report->closed);
  EXPECT_EQ(report->unsigned_records, 0u);
}

// Many appenders and a window: every record durable once, in each thread's
// order, in a chain that verifies, and fewer syncs than records.
TEST_F(AuditLogWindowTest, ConcurrentAppendsWithAWindowAreAllDurableInOrder) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100;
  std::unique_ptr<AuditLog> log = Open(absl::Milliseconds(1));
  ASSERT_NE(log, nullptr);
  const std::vector<std::vector<uint64_t>> sequences =
      AppendConcurrently(*log, kThreads, kPerThread, [](int, int i) { return TestEvent(i); });
  ASSERT_THAT(log->Close(), IsOk());
  std::set<uint64_t> all;
  ASSERT_NO_FATAL_FAILURE(ExpectEachOnceInOrder(sequences, kPerThread, all));
  absl::StatusOr<AuditReport> report = Verify(path_, testing::EcKey());
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->records, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_TRUE(report->closed);
  EXPECT_EQ(log->counters().records, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_LT(log->counters().syncs, static_cast<uint64_t>(kThreads * kPerThread));
}

TEST_F(AuditLogWindowTest, ANegativeWindowIsRefused) {
  AuditLogOptions options;
  options.group_commit_window = absl::Milliseconds(-1);
  EXPECT_EQ(AuditLog::Open(path_, SignerFor(testing::EcKey()), options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// --- Failures ------------------------------------------------------------

struct Faults {
  void Clear() {
    fail_append = false;
    fail_sync = false;
    disk_full = false;
  }
  std::atomic<bool> fail_append{false};
  std::atomic<bool> fail_sync{false};
  std::atomic<bool> disk_full{false};
};

// The real writer, until a fault is switched on.
class FaultyWriter : public LogWriter {
 public:
  FaultyWriter(std::unique_ptr<LogWriter> real, std::shared_ptr<Faults> faults)
      : real_(std::move(real)), faults_(std::move(faults)) {
    // A real ENOSPC from the kernel, through the real writer's error path.
    full_ = NewFdLogWriter(open("/dev/full", O_WRONLY | O_CLOEXEC), "/dev/full", 0);
  }
  absl::Status Append(absl::string_view bytes) override {
    if (faults_->fail_append) return absl::UnavailableError("injected: write failed: EIO");
    if (faults_->disk_full) return full_->Append(bytes);
    return real_->Append(bytes);
  }
  absl::Status Sync() override {
    if (faults_->fail_sync) return absl::UnavailableError("injected: fdatasync failed: EIO");
    return real_->Sync();
  }

 private:
  std::unique_ptr<LogWriter> real_;
  std::unique_ptr<LogWriter> full_;
  std::shared_ptr<Faults> faults_;
};

class AuditLogFailureTest : public ::testing::Test {
 protected:
  std::unique_ptr<AuditLog> Open(uint32_t interval = 1000,
                                 absl::Duration window = absl::ZeroDuration()) {
    AuditLogOptions options = Interval(interval);
    options.group_commit_window = window;
    options.wrap_writer = [faults = faults_](std::unique_ptr<LogWriter> real) {
      return std::make_unique<FaultyWriter>(std::move(real), faults);
    };
    absl::StatusOr<std::unique_ptr<AuditLog>> log =
        AuditLog::Open(path_, SignerFor(testing::EcKey()), std::move(options));
    EXPECT_THAT(log, IsOk());
    return log.ok() ? *std::move(log) : nullptr;
  }

  // Appends fail, and keep failing once the fault is gone: the log is
  // stopped, and so must key operations be.
  void ExpectStopped(AuditLog& log, absl::string_view why) {
    absl::StatusOr<uint64_t> failed = log.Append(TestEvent(100));
    EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(std::string(failed.status().message()), HasSubstr(why));
    faults_->Clear();
    absl::StatusOr<uint64_t> still = log.Append(TestEvent(101));
    EXPECT_EQ(still.status(), failed.status());
    EXPECT_EQ(log.status(), failed.status());
    EXPECT_EQ(log.Close(), failed.status());
  }

  std::shared_ptr<Faults> faults_ = std::make_shared<Faults>();
  TempDir dir_;
  const std::string path_ = dir_.File("audit.log");
};

TEST_F(AuditLogFailureTest, AWriteErrorStopsTheLogAndTheFileStaysValid) {
  std::unique_ptr<AuditLog> log = Open();
  ASSERT_NE(log, nullptr);
  for (int i = 0; i < 3; ++i) ASSERT_THAT(log->Append(TestEvent(i)), IsOk());
  faults_->fail_append = true;
  ExpectStopped(*log, "write failed");

  absl::StatusOr<AuditReport> report = Verify(path_, testing::EcKey());
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->records, 3u);
  EXPECT_EQ(report->unsigned_records, 3u);
  // An operator can reopen it once the fault is fixed.
  log = Open();
  ASSERT_NE(log, nullptr);
  EXPECT_THAT(log->Append(TestEvent(3)), IsOk());
  ASSERT_THAT(log->Close(), IsOk());
  EXPECT_THAT(Verify(path_, testing::EcKey()), IsOk());
}

TEST_F(AuditLogFailureTest, AFullDiskStopsTheLog) {
  std::unique_ptr<AuditLog> log = Open();
  ASSERT_NE(log, nullptr);
  ASSERT_THAT(log->Append(TestEvent(0)), IsOk());
  faults_->disk_full = true;
  ExpectStopped(*log, "No space left on device");
  EXPECT_THAT(Verify(path_, testing::EcKey()), IsOk());
}

TEST_F(AuditLogFailureTest, ASyncErrorStopsTheLog) {
  std::unique_ptr<AuditLog> log = Open();
  ASSERT_NE(log, nullptr);
  faults_->fail_sync = true;
  ExpectStopped(*log, "fdatasync failed");
}

TEST_F(AuditLogFailureTest, ARemovedFileStopsTheLog) {
  std::unique_ptr<AuditLog> log = Open();
  ASSERT_NE(log, nullptr);
  ASSERT_THAT(log->Append(TestEvent(0)), IsOk());
  ASSERT_EQ(std::remove(path_.c_str()), 0);
  ExpectStopped(*log, "was removed");
}

// As a log rotation that renames the file and creates a new one would.
TEST_F(AuditLogFailureTest, AReplacedFileStopsTheLog) {
  std::unique_ptr<AuditLog> log = Open();
  ASSERT_NE(log, nullptr);
  std::filesystem::rename(path_, path_ + ".1");
  testing::WriteFile(path_, "");
  ExpectStopped(*log, "was replaced by another file");
}

TEST_F(AuditLogFailureTest, AFileMovedAwayStopsTheLog) {
  std::unique_ptr<AuditLog> log = Open();
  ASSERT_NE(log, nullptr);
  std::filesystem::rename(path_, path_ + ".1");
  ExpectStopped(*log, "is no longer at its path");
}

TEST_F(AuditLogFailureTest, EveryWaitingAppendLearnsOfTheFailure) {
  std::unique_ptr<AuditLog> log = Open(/*interval=*/50);
  ASSERT_NE(log, nullptr);
  std::atomic<int> appended{0};
  std::vector<std::vector<uint64_t>> acknowledged(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0;; ++i) {
        absl::StatusOr<uint64_t> sequence = log->Append(TestEvent(i));
        if (!sequence.ok()) {
          EXPECT_EQ(sequence.status().code(), absl::StatusCode::kUnavailable);
          return;
        }
        acknowledged[t].push_back(*sequence);
        ++appended;
      }
    });
  }
  while (appended < 400) std::this_thread::yield();
  faults_->fail_append = true;
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(log->Close(), Not(IsOk()));

  // Every acknowledged record is in the file, and the file verifies.
  absl::StatusOr<AuditReport> report = Verify(path_, testing::EcKey());
  ASSERT_THAT(report, IsOk());
  std::set<uint64_t> in_file;
  for (const v1::Entry& entry : Entries(path_)) {
    if (entry.has_record()) in_file.insert(entry.sequence());
  }
  for (const std::vector<uint64_t>& mine : acknowledged) {
    for (uint64_t sequence : mine) EXPECT_TRUE(in_file.count(sequence)) << sequence;
  }
}

TEST_F(AuditLogFailureTest, EveryAsyncAppendLearnsOfTheFailure) {
  std::unique_ptr<AuditLog> log = Open(/*interval=*/50);
  ASSERT_NE(log, nullptr);
  std::mutex mutex;
  std::condition_variable answered;
  int ok = 0;
  int failed = 0;
  int queued = 0;
  auto done = [&](absl::StatusOr<uint64_t> sequence) {
    std::lock_guard lock(mutex);
    if (sequence.ok()) {
      ++ok;
    } else {
      EXPECT_EQ(sequence.status().code(), absl::StatusCode::kUnavailable) << sequence.status();
      ++failed;
    }
    answered.notify_all();
  };
  for (int i = 0; i < 100; ++i) {
    if (log->AppendAsync(TestEvent(i), done).ok()) ++queued;
  }
  faults_->fail_append = true;
  for (int i = 0; i < 2000; ++i) {
    if (log->AppendAsync(TestEvent(i), done).ok()) ++queued;
  }
  std::unique_lock lock(mutex);
  // Each accepted append is answered exactly once, failed or written.
  ASSERT_TRUE(
      answered.wait_for(lock, std::chrono::seconds(30), [&] { return ok + failed == queued; }));
  EXPECT_GT(failed, 0);
  lock.unlock();
  EXPECT_THAT(log->Close(), Not(IsOk()));
  EXPECT_EQ(ok + failed, queued);
}

// A batch gathered in a window fails as a whole: every record in it, waiting
// or async, is told, none is answered as written, and nothing is counted.
TEST_F(AuditLogFailureTest, AFailedSyncFailsEveryRecordOfTheWindow) {
  // Before the log: its callbacks may run until it is closed.
  Answers answers;
  std::unique_ptr<AuditLog> log = Open(1000, absl::Milliseconds(300));
  ASSERT_NE(log, nullptr);
  faults_->fail_sync = true;
  for (int i = 0; i < 5; ++i) ASSERT_THAT(log->AppendAsync(TestEvent(i), answers.Done()), IsOk());
  absl::StatusOr<uint64_t> waited = log->Append(TestEvent(5));
  EXPECT_EQ(waited.status().code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(answers.WaitFor(5));
  for (const absl::StatusOr<uint64_t>& answer : answers.Get()) {
    EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(std::string(answer.status().message()), HasSubstr("fdatasync failed"));
  }
  EXPECT_EQ(log->counters().syncs, 1u);
  EXPECT_EQ(log->counters().records, 0u);
  ExpectStopped(*log, "fdatasync failed");
}

// Signs until told to stop, like a token that goes away.
class FlakySigner : public CheckpointSigner {
 public:
  FlakySigner(std::unique_ptr<CheckpointSigner> real, int signatures)
      : real_(std::move(real)), left_(signatures) {}
  absl::StatusOr<std::string> Sign(absl::string_view statement) override {
    if (left_-- <= 0) return absl::UnavailableError("C_Sign: CKR_DEVICE_REMOVED");
    return real_->Sign(statement);
  }
  std::string PublicKeyDer() const override { return real_->PublicKeyDer(); }

 private:
  std::unique_ptr<CheckpointSigner> real_;
  int left_;
};

TEST_F(AuditLogFailureTest, ACheckpointThatCannotBeSignedWaitsThenStopsTheLog) {
  AuditLogOptions options = Interval(2);
  options.max_unsigned_records = 3;
  std::vector<std::string> warnings;
  options.warn = [&](absl::string_view warning) { warnings.emplace_back(warning); };
  absl::StatusOr<std::unique_ptr<AuditLog>> log =
      AuditLog::Open(path_, std::make_unique<FlakySigner>(SignerFor(testing::EcKey()), 1), options);
  ASSERT_THAT(log, IsOk());
  // Records 1 to 4 get in: the checkpoint due after record 2 waits.
  for (int i = 0; i < 4; ++i) ASSERT_THAT((*log)->Append(TestEvent(i)), IsOk()) << i;
  ASSERT_FALSE(warnings.empty());
  EXPECT_THAT(warnings.front(), HasSubstr("cannot sign a checkpoint: C_Sign: CKR_DEVICE_REMOVED"));
  // Record 5 would be the third past the due checkpoint: the log stops.
  ExpectStopped(**log, "cannot sign a checkpoint: C_Sign: CKR_DEVICE_REMOVED");
  // What was acknowledged is on disk and chained, just not signed.
  absl::StatusOr<AuditReport> report = Verify(path_, testing::EcKey());
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->records, 4u);
}

// Fails `failures` signatures after the first `good` ones, then signs again.
class InterruptedSigner : public CheckpointSigner {
 public:
  InterruptedSigner(std::unique_ptr<CheckpointSigner> real, int good, int failures)
      : real_(std::move(real)), good_(good), failures_(failures) {}
  absl::StatusOr<std::string> Sign(absl::string_view statement) override {
    if (good_-- <= 0 && failures_-- > 0)
      return absl::UnavailableError("C_Sign: CKR_TOKEN_NOT_PRESENT");
    return real_->Sign(statement);
  }
  std::string PublicKeyDer() const override { return real_->PublicKeyDer(); }

 private:
  std::unique_ptr<CheckpointSigner> real_;
  int good_;
  int failures_;
};

TEST_F(AuditLogFailureTest, ASignerThatComesBackCoversTheWaitingRecords) {
  AuditLogOptions options = Interval(2);
  options.max_unsigned_records = 4;
  absl::StatusOr<std::unique_ptr<AuditLog>> log = AuditLog::Open(
      path_, std::make_unique<InterruptedSigner>(SignerFor(testing::EcKey()), 1, 2), options);
  ASSERT_THAT(log, IsOk());
  // Due after 2 (fails), retried after 3 (fails), signed after 4.
  for (int i = 0; i < 8; ++i) ASSERT_THAT((*log)->Append(TestEvent(i)), IsOk()) << i;
  ASSERT_THAT((*log)->Close(), IsOk());
  absl::StatusOr<AuditReport> report = Verify(path_, testing::EcKey());
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->records, 8u);
  EXPECT_TRUE(report->closed);
}

TEST_F(AuditLogFailureTest, ASignerThatCannotSignIsRefusedAtOpen) {
  absl::StatusOr<std::unique_ptr<AuditLog>> log =
      AuditLog::Open(path_, std::make_unique<FlakySigner>(SignerFor(testing::EcKey()), 0));
  ASSERT_THAT(log, Not(IsOk()));
  EXPECT_EQ(log.status().code(), absl::StatusCode::kUnavailable);
}

// Signs with one key and names another.
class MismatchedSigner : public CheckpointSigner {
 public:
  absl::StatusOr<std::string> Sign(absl::string_view statement) override {
    return signer_->Sign(statement);
  }
  std::string PublicKeyDer() const override { return testing::PublicKeyDer(testing::RsaKey()); }

 private:
  std::unique_ptr<CheckpointSigner> signer_ = SignerFor(testing::EcKey());
};

TEST_F(AuditLogFailureTest, ASignerWhoseKeyDoesNotMatchIsRefusedAtOpen) {
  absl::StatusOr<std::unique_ptr<AuditLog>> log =
      AuditLog::Open(path_, std::make_unique<MismatchedSigner>());
  ASSERT_THAT(log, Not(IsOk()));
  EXPECT_THAT(std::string(log.status().message()), HasSubstr("does not verify with its key"));
}

TEST_F(AuditLogFailureTest, AReadOnlyLogIsRefusedOnReopen) {
  std::unique_ptr<AuditLog> log = Open();
  ASSERT_NE(log, nullptr);
  ASSERT_THAT(log->Close(), IsOk());
  ASSERT_EQ(chmod(dir_.path().c_str(), 0755), 0);
  ASSERT_EQ(chmod(path_.c_str(), 0444), 0);
  const std::string path = path_;
  int code = testing::RunUnprivileged([&path] {
    absl::StatusOr<std::unique_ptr<AuditLog>> reopened =
        AuditLog::Open(path, SignerFor(testing::EcKey()));
    return static_cast<int>(reopened.status().code());
  });
  EXPECT_EQ(code, static_cast<int>(absl::StatusCode::kPermissionDenied));
}

TEST_F(AuditLogFailureTest, AReadOnlyDirectoryIsRefusedOnCreate) {
  ASSERT_EQ(chmod(dir_.path().c_str(), 0555), 0);
  const std::string path = path_;
  int code = testing::RunUnprivileged([&path] {
    absl::StatusOr<std::unique_ptr<AuditLog>> created =
        AuditLog::Open(path, SignerFor(testing::EcKey()));
    return static_cast<int>(created.status().code());
  });
  EXPECT_EQ(code, static_cast<int>(absl::StatusCode::kPermissionDenied));
}

}  // namespace
}  // namespace signet::audit
