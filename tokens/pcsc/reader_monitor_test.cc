// The reader monitor against a real pcscd (a private one, with the vpcd
// driver) and virtual PIV cards going in and out, and the daemon killed and
// restarted under it. Latencies are measured from just before the physical
// event (starting or killing the card program, killing pcscd) to the moment
// the monitor saw it, and recorded as test properties.
#include "tokens/pcsc/reader_monitor.h"

#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/piv_card_env.h"
#include "tests/fixtures/status_matchers.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr char kReader0[] = "Signet Virtual PCD 00 00";
constexpr char kReader1[] = "Signet Virtual PCD 00 01";

// --- DiffReaders, without pcscd ----------------------------------------------

ReaderSnapshot Reader(std::string name, bool card = false, std::vector<uint8_t> atr = {},
                      uint32_t count = 0) {
  return ReaderSnapshot{
      .name = std::move(name), .card_present = card, .atr = std::move(atr), .event_count = count};
}

std::vector<std::string> Describe(const std::vector<ReaderEvent>& events) {
  std::vector<std::string> out;
  for (const ReaderEvent& event : events) out.push_back(event.DebugString());
  return out;
}

TEST(DiffReadersTest, NewReadersComeBeforeTheirCards) {
  const absl::Time now = absl::Now();
  EXPECT_THAT(Describe(DiffReaders({}, {Reader("a", true, {0x3B, 0x01}), Reader("b")}, now)),
              ElementsAre("reader added: a", "card inserted: a (ATR 3b01)", "reader added: b"));
}

TEST(DiffReadersTest, RemovalsComeFirstAndCardsBeforeTheirReaders) {
  const absl::Time now = absl::Now();
  EXPECT_THAT(
      Describe(DiffReaders({Reader("a", true, {0x3B}), Reader("b", true, {0x3B})},
                           {Reader("b"), Reader("c")}, now)),
      ElementsAre("card removed: a", "reader removed: a", "card removed: b", "reader added: c"));
}

TEST(DiffReadersTest, NothingChangedIsNoEvent) {
  const std::vector<ReaderSnapshot> readers = {Reader("a", true, {0x3B}, 3), Reader("b")};
  EXPECT_THAT(DiffReaders(readers, readers, absl::Now()), IsEmpty());
  // One card event more (the counter moved by one) with the card still in:
  // not a swap (a removal and an insertion are two events).
  EXPECT_THAT(DiffReaders(readers, {Reader("a", true, {0x3B}, 4), Reader("b")}, absl::Now()),
              IsEmpty());
}

TEST(DiffReadersTest, ACardSwappedBetweenTwoLooksIsRemovedThenInserted) {
  const absl::Time now = absl::Now();
  // Seen by the ATR...
  EXPECT_THAT(Describe(DiffReaders({Reader("a", true, {0x3B, 0x01})},
                                   {Reader("a", true, {0x3B, 0x02})}, now)),
              ElementsAre("card removed: a", "card inserted: a (ATR 3b02)"));
  // ...or by pcsc-lite's event counter when the ATRs are equal (wrapping).
  EXPECT_THAT(Describe(DiffReaders({Reader("a", true, {0x3B}, 0xFFFF)},
                                   {Reader("a", true, {0x3B}, 1)}, now)),
              ElementsAre("card removed: a", "card inserted: a (ATR 3b)"));
}

// --- the monitor on a private pcscd -------------------------------------------

// Every event the monitor delivered, with a way to wait for the next ones.
class EventLog {
 public:
  void Add(const ReaderEvent& event) {
    absl::MutexLock lock(&mutex_);
    events_.push_back(event);
  }

  std::vector<ReaderEvent> events() const {
    absl::MutexLock lock(&mutex_);
    return events_;
  }
  size_t size() const {
    absl::MutexLock lock(&mutex_);
    return events_.size();
  }

  // Waits for an event of `kind` for `reader` at index `from` or later;
  // returns it.
  std::optional<ReaderEvent> WaitFor(ReaderEventKind kind, const std::string& reader, size_t from,
                                     absl::Duration timeout) const {
    std::optional<ReaderEvent> found;
    auto arrived = [&]() {
      for (size_t i = from; i < events_.size(); ++i) {
        if (events_[i].kind == kind && events_[i].reader == reader) {
          found = events_[i];
          return true;
        }
      }
      return false;
    };
    absl::MutexLock lock(&mutex_);
    mutex_.AwaitWithTimeout(absl::Condition(&arrived), timeout);
    return found;
  }

  // The events from index `from` on, as text; without those about
  // `except_reader` if given.
  std::vector<std::string> DescribeFrom(size_t from, const std::string& except_reader = "") const {
    absl::MutexLock lock(&mutex_);
    std::vector<std::string> out;
    for (size_t i = from; i < events_.size(); ++i) {
      ReaderEvent event = events_[i];
      if (!except_reader.empty() && event.reader == except_reader) continue;
      event.atr.clear();  // the ATR is checked apart
      out.push_back(event.DebugString());
    }
    return out;
  }

 private:
  mutable absl::Mutex mutex_;
  std::vector<ReaderEvent> events_;
};

// Polls the monitor's status until `done` holds.
bool WaitForStatus(const ReaderMonitor& monitor,
                   const std::function<bool(const ReaderMonitorStatus&)>& done,
                   absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done(monitor.Status())) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return done(monitor.Status());
}

const ReaderSnapshot* FindIn(const ReaderMonitorStatus& status, const std::string& name) {
  for (const ReaderSnapshot& reader : status.readers) {
    if (reader.name == name) return &reader;
  }
  return nullptr;
}

bool CardShown(const ReaderMonitorStatus& status, const std::string& name) {
  const ReaderSnapshot* reader = FindIn(status, name);
  return reader != nullptr && reader->card_present;
}

class ReaderMonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(env_, fixtures::PivCardEnv::Start("reader-monitor"));
  }

  void TearDown() override {
    monitor_.reset();  // before the cards and pcscd go
  }

  void StartMonitor(ReaderMonitorOptions options = {}) {
    monitor_ = ReaderMonitor::Start([this](const ReaderEvent& event) { log_.Add(event); }, options);
    ASSERT_TRUE(monitor_->WaitStarted(absl::Seconds(5)));
  }

  // A card with one EC key: enough for pcscd, quick to make.
  absl::StatusOr<std::unique_ptr<fixtures::VirtualPivCard>> MakeCard(const std::string& serial) {
    fixtures::VirtualPivOptions options;
    options.serial = serial;
    options.keys = {{0x9A, "EC:P-256", false}};
    return env_->MakeCard(options);
  }

  // Inserts `card` into reader 0 and returns how long after the insertion
  // began the monitor reported it (InfiniteDuration if it did not in 5 s).
  absl::Duration InsertAndMeasure(fixtures::VirtualPivCard& card) {
    const size_t from = log_.size();
    const absl::Time began = absl::Now();
    EXPECT_THAT(card.Insert(env_->pcscd().vpcd_port()), IsOk());
    std::optional<ReaderEvent> event =
        log_.WaitFor(ReaderEventKind::kCardInserted, kReader0, from, absl::Seconds(5));
    if (!event.has_value()) return absl::InfiniteDuration();
    EXPECT_FALSE(event->atr.empty());
    return event->seen - began;
  }

  absl::Duration RemoveAndMeasure(fixtures::VirtualPivCard& card) {
    const size_t from = log_.size();
    const absl::Time began = absl::Now();
    card.Remove();
    std::optional<ReaderEvent> event =
        log_.WaitFor(ReaderEventKind::kCardRemoved, kReader0, from, absl::Seconds(5));
    if (!event.has_value()) return absl::InfiniteDuration();
    return event->seen - began;
  }

  void Record(const std::string& name, absl::Duration latency) {
    const std::string ms = absl::StrCat(absl::ToInt64Milliseconds(latency));
    RecordProperty(name, ms);
    std::printf("%s: %s ms\n", name.c_str(), ms.c_str());
  }

  std::unique_ptr<fixtures::PivCardEnv> env_;
  EventLog log_;
  std::unique_ptr<ReaderMonitor> monitor_;
};

TEST_F(ReaderMonitorTest, ListsBothVpcdReadersAtStart) {
  StartMonitor();
  const ReaderMonitorStatus status = monitor_->Status();
  EXPECT_TRUE(status.pcscd_available);
  ASSERT_EQ(status.readers.size(), 2u);
  EXPECT_FALSE(CardShown(status, kReader0));
  EXPECT_FALSE(CardShown(status, kReader1));
  EXPECT_NE(FindIn(status, kReader0), nullptr);
  EXPECT_NE(FindIn(status, kReader1), nullptr);
  EXPECT_THAT(log_.DescribeFrom(0),
              ElementsAre("pcscd available", absl::StrCat("reader added: ", kReader0),
                          absl::StrCat("reader added: ", kReader1)));
}

TEST_F(ReaderMonitorTest, ReportsACardAlreadyInTheReaderAtStart) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<fixtures::VirtualPivCard> card,
                       MakeCard("00000000000000b0"));
  ASSERT_THAT(env_->Insert(*card), IsOk());
  StartMonitor();
  EXPECT_TRUE(CardShown(monitor_->Status(), kReader0));
  EXPECT_FALSE(FindIn(monitor_->Status(), kReader0)->atr.empty());
  EXPECT_THAT(log_.DescribeFrom(0),
              ElementsAre("pcscd available", absl::StrCat("reader added: ", kReader0),
                          absl::StrCat("card inserted: ", kReader0),
                          absl::StrCat("reader added: ", kReader1)));
}

TEST_F(ReaderMonitorTest, SeesInsertAndRemoveWithinASecond) {
  StartMonitor();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<fixtures::VirtualPivCard> card,
                       MakeCard("00000000000000b1"));

  const absl::Duration inserted = InsertAndMeasure(*card);
  Record("insert_seen_ms", inserted);
  EXPECT_LT(inserted, absl::Seconds(1));
  EXPECT_TRUE(CardShown(monitor_->Status(), kReader0));
  EXPECT_FALSE(CardShown(monitor_->Status(), kReader1));

  const absl::Duration removed = RemoveAndMeasure(*card);
  Record("remove_seen_ms", removed);
  EXPECT_LT(removed, absl::Seconds(1));
  EXPECT_FALSE(CardShown(monitor_->Status(), kReader0));
  // Nothing else happened: one insertion, one removal, reader 1 untouched.
  EXPECT_THAT(log_.DescribeFrom(3), ElementsAre(absl::StrCat("card inserted: ", kReader0),
                                                absl::StrCat("card removed: ", kReader0)));
}

TEST_F(ReaderMonitorTest, ACardReplacedByAnotherIsRemovedThenInserted) {
  StartMonitor();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<fixtures::VirtualPivCard> first,
                       MakeCard("00000000000000b2"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<fixtures::VirtualPivCard> second,
                       MakeCard("00000000000000b3"));
  ASSERT_LT(InsertAndMeasure(*first), absl::Seconds(1));
  const size_t from = log_.size();

  // The second card goes in once the removal was seen. With vpcd, a card
  // swapped faster than pcscd's presence poll (~400 ms) is invisible to
  // PC/SC: the reader never reports it empty and pcsc-lite's event counter
  // does not move (tried: counter 1 before and after, no event in 3 s).
  // Real readers report each insertion and removal themselves.
  const absl::Duration removed = RemoveAndMeasure(*first);
  const absl::Duration inserted = InsertAndMeasure(*second);
  Record("replace_remove_seen_ms", removed);
  Record("replace_insert_seen_ms", inserted);
  EXPECT_LT(removed, absl::Seconds(1));
  EXPECT_LT(inserted, absl::Seconds(1));
  EXPECT_THAT(log_.DescribeFrom(from), ElementsAre(absl::StrCat("card removed: ", kReader0),
                                                   absl::StrCat("card inserted: ", kReader0)));
}

TEST_F(ReaderMonitorTest, WaitsInsteadOfPollingWhenNothingHappens) {
  ReaderMonitorOptions options;
  options.wait_timeout = absl::Milliseconds(500);
  StartMonitor(options);
  const uint64_t waits = monitor_->Status().waits;
  absl::SleepFor(absl::Seconds(2));
  const ReaderMonitorStatus status = monitor_->Status();
  // About one wait per timeout; a spinning loop would make thousands.
  EXPECT_LE(status.waits - waits, 6u);
  EXPECT_EQ(status.spin_guard_sleeps, 0u);
  EXPECT_EQ(status.connect_attempts, 1u);
  EXPECT_EQ(log_.size(), 3u);  // pcscd available, two readers
}

TEST_F(ReaderMonitorTest, PcscdKilledAndRestartedIsReportedAndRecovered) {
  ReaderMonitorOptions options;
  options.initial_backoff = absl::Milliseconds(100);
  options.max_backoff = absl::Seconds(2);
  StartMonitor(options);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<fixtures::VirtualPivCard> card,
                       MakeCard("00000000000000b6"));
  ASSERT_LT(InsertAndMeasure(*card), absl::Seconds(1));

  // Killed: unavailable within a second, with the PC/SC error.
  size_t from = log_.size();
  absl::Time began = absl::Now();
  env_->pcscd().Kill();
  std::optional<ReaderEvent> lost =
      log_.WaitFor(ReaderEventKind::kPcscdUnavailable, "", from, absl::Seconds(3));
  ASSERT_TRUE(lost.has_value());
  Record("pcscd_loss_seen_ms", lost->seen - began);
  EXPECT_LT(lost->seen - began, absl::Seconds(1));
  ReaderMonitorStatus status = monitor_->Status();
  EXPECT_FALSE(status.pcscd_available);
  EXPECT_THAT(status.readers, IsEmpty());
  EXPECT_FALSE(status.last_error.empty());
  std::printf("error when pcscd was killed: %s\n", lost->detail.c_str());

  // Down for 3 s: reconnection attempts back off (100, 200, 400, 800 ms,
  // then 2 s), the thread neither spins nor reports anything more.
  const ReaderMonitorStatus before = monitor_->Status();
  absl::SleepFor(absl::Seconds(3));
  status = monitor_->Status();
  std::printf("while down 3 s: %llu connect attempts, %llu waits, last error: %s\n",
              static_cast<unsigned long long>(status.connect_attempts - before.connect_attempts),
              static_cast<unsigned long long>(status.waits - before.waits),
              status.last_error.c_str());
  EXPECT_LE(status.connect_attempts - before.connect_attempts, 5u);
  EXPECT_GE(status.connect_attempts - before.connect_attempts, 1u);
  EXPECT_EQ(status.waits, before.waits);
  EXPECT_EQ(log_.size(), from + 1);  // only "pcscd unavailable"
  EXPECT_FALSE(status.pcscd_available);

  // Restarted with the card still in the reader (the card program
  // reconnects to the new vpcd): available again, the card reported removed
  // (nobody can tell it is the same card) and inserted again.
  from = log_.size();
  began = absl::Now();
  ASSERT_THAT(env_->pcscd().Restart(), IsOk());
  ASSERT_TRUE(WaitForStatus(
      *monitor_, [](const ReaderMonitorStatus& s) { return CardShown(s, kReader0); },
      absl::Seconds(4)));
  Record("pcscd_restart_recovered_ms", absl::Now() - began);
  // The status changes before the callbacks run: wait for the event too.
  ASSERT_TRUE(
      log_.WaitFor(ReaderEventKind::kCardInserted, kReader0, from, absl::Seconds(4)).has_value());
  ASSERT_TRUE(WaitForStatus(
      *monitor_, [](const ReaderMonitorStatus& s) { return s.readers.size() == 2; },
      absl::Seconds(4)));
  status = monitor_->Status();
  EXPECT_TRUE(status.pcscd_available);
  // The new pcscd brings its readers up one after the other: a look
  // between the two sees the second one gone and back, which is reported
  // as such. Reader 0's events are the ones that matter here.
  EXPECT_THAT(log_.DescribeFrom(from, kReader1),
              ElementsAre("pcscd available", absl::StrCat("card removed: ", kReader0),
                          absl::StrCat("card inserted: ", kReader0)));

  // And it keeps working on the new daemon.
  EXPECT_LT(RemoveAndMeasure(*card), absl::Seconds(1));
}

TEST_F(ReaderMonitorTest, ReadersAppearWhenPcscdComesUpAfterTheMonitor) {
  ASSERT_THAT(env_->pcscd().Stop(), IsOk());
  StartMonitor();
  ReaderMonitorStatus status = monitor_->Status();
  EXPECT_FALSE(status.pcscd_available);
  EXPECT_THAT(status.readers, IsEmpty());
  EXPECT_THAT(log_.DescribeFrom(0), ElementsAre(testing::StartsWith("pcscd unavailable: ")));

  const size_t from = log_.size();
  ASSERT_THAT(env_->pcscd().Restart(), IsOk());
  ASSERT_TRUE(WaitForStatus(
      *monitor_, [](const ReaderMonitorStatus& s) { return s.readers.size() == 2; },
      absl::Seconds(4)));
  // The status changes before the callbacks run: wait for the last one too.
  ASSERT_TRUE(
      log_.WaitFor(ReaderEventKind::kReaderAdded, kReader1, from, absl::Seconds(4)).has_value());
  EXPECT_THAT(log_.DescribeFrom(from),
              ElementsAre("pcscd available", absl::StrCat("reader added: ", kReader0),
                          absl::StrCat("reader added: ", kReader1)));
  // The error stays visible after the recovery.
  EXPECT_FALSE(monitor_->Status().last_error.empty());
}

TEST_F(ReaderMonitorTest, StopIsPromptWhileWaitingInPcscd) {
  ReaderMonitorOptions options;
  options.wait_timeout = absl::Seconds(30);
  StartMonitor(options);
  // Let it settle into its long wait.
  ASSERT_TRUE(WaitForStatus(
      *monitor_, [](const ReaderMonitorStatus& s) { return s.waits >= 1; }, absl::Seconds(2)));
  absl::SleepFor(absl::Milliseconds(200));
  const absl::Time began = absl::Now();
  monitor_->Stop();
  const absl::Duration took = absl::Now() - began;
  Record("stop_while_waiting_ms", took);
  EXPECT_LT(took, absl::Milliseconds(200));
  monitor_->Stop();  // idempotent
  monitor_.reset();
}

TEST_F(ReaderMonitorTest, StopIsPromptWhileBackingOff) {
  ReaderMonitorOptions options;
  options.initial_backoff = absl::Seconds(30);
  options.max_backoff = absl::Seconds(30);
  env_->pcscd().Kill();
  StartMonitor(options);
  EXPECT_FALSE(monitor_->Status().pcscd_available);
  const absl::Time began = absl::Now();
  monitor_.reset();  // the destructor stops and joins
  const absl::Duration took = absl::Now() - began;
  Record("destroy_while_backing_off_ms", took);
  EXPECT_LT(took, absl::Milliseconds(200));
}

TEST_F(ReaderMonitorTest, TheCallbackMayStopTheMonitor) {
  std::unique_ptr<ReaderMonitor> monitor;
  absl::Notification assigned;
  std::mutex mutex;
  int calls = 0;
  monitor = ReaderMonitor::Start([&](const ReaderEvent&) {
    assigned.WaitForNotification();
    std::lock_guard<std::mutex> lock(mutex);
    ++calls;
    monitor->Stop();  // from the monitor's own thread: no self-join
  });
  assigned.Notify();
  ASSERT_TRUE(monitor->WaitStarted(absl::Seconds(5)));
  absl::SleepFor(absl::Milliseconds(100));
  monitor.reset();
  std::lock_guard<std::mutex> lock(mutex);
  // The scan that was being delivered is delivered whole.
  EXPECT_EQ(calls, 3);
}

}  // namespace
}  // namespace signet
