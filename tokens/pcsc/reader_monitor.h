// Watches PC/SC readers through pcscd (PCSC-lite) on a thread of its own and
// reports readers that come and go and cards put in and pulled out, so the
// token layer can react within a second instead of waiting for a failed call.
//
// The monitor talks PC/SC only, never PKCS#11: a card replaced by another one
// is a removal followed by an insertion, and the consumer tells the cards
// apart by their token serial (see pcsc_slot_map.h for finding the slots of a
// reader). When pcscd is missing or restarts, the monitor says so in its
// status, reconnects with backoff and then reports what changed. Across such a
// gap it cannot know whether a card that is present again is the same card,
// so every card present before the gap is reported removed and every card
// present after it inserted.
#ifndef SIGNET_TOKENS_READER_MONITOR_H_
#define SIGNET_TOKENS_READER_MONITOR_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace signet {

// The name PC/SC gives the pseudo-reader whose state changes when readers
// are added or removed.
inline constexpr char kPnpNotificationReader[] = "\\\\?PnP?\\Notification";

enum class ReaderEventKind {
  kReaderAdded,
  kReaderRemoved,
  kCardInserted,  // `atr` is set
  kCardRemoved,
  // pcscd could not be reached (`detail` says why); nothing is known about
  // readers or cards until kPcscdAvailable.
  kPcscdUnavailable,
  kPcscdAvailable,
};

absl::string_view ReaderEventKindName(ReaderEventKind kind);

struct ReaderEvent {
  ReaderEventKind kind = ReaderEventKind::kReaderAdded;
  std::string reader;        // empty for the pcscd events
  std::vector<uint8_t> atr;  // kCardInserted only
  std::string detail;        // kPcscdUnavailable: the PC/SC error
  absl::Time seen;           // when the monitor saw it

  std::string DebugString() const;
};

// One reader as the monitor last saw it.
struct ReaderSnapshot {
  std::string name;
  bool card_present = false;
  // A card is in the reader but does not answer (SCARD_STATE_MUTE).
  bool card_mute = false;
  std::vector<uint8_t> atr;
  // PCSC-lite's per-reader count of card events (the high word of
  // dwEventState); a change of 2 or more between two looks at a reader that
  // holds a card means the card was swapped in between.
  uint32_t event_count = 0;
};

struct ReaderMonitorStatus {
  bool pcscd_available = false;
  // Empty while pcscd is unavailable.
  std::vector<ReaderSnapshot> readers;
  // The last PC/SC failure ("SCardEstablishContext: Service not available.
  // (0x8010001D)"); kept after a recovery so that the operator sees it.
  std::string last_error;
  absl::Time last_error_time = absl::InfinitePast();
  // Counters, for health pages and for tests that prove the monitor waits
  // instead of spinning.
  uint64_t waits = 0;              // SCardGetStatusChange calls
  uint64_t connect_attempts = 0;   // SCardEstablishContext calls
  uint64_t events = 0;             // events delivered
  uint64_t spin_guard_sleeps = 0;  // early returns that made it pause
  // The first scan (or the first failure to reach pcscd) was delivered.
  bool started = false;
};

struct ReaderMonitorOptions {
  // The longest one SCardGetStatusChange waits. Stop() cancels the wait with
  // SCardCancel, so this only bounds how late a reader added in the instant
  // between listing readers and starting to wait is seen (pcsc-lite 1.9.9
  // compares the reader count against the count when the wait began).
  absl::Duration wait_timeout = absl::Milliseconds(1000);
  // Reconnection backoff while pcscd is unavailable: doubles up to max.
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(2);
};

class ReaderMonitor {
 public:
  // Called on the monitor's thread, one event at a time and in order. It must
  // not destroy the monitor; it may call Status() and Stop().
  using Callback = std::function<void(const ReaderEvent&)>;

  // Starts the thread. Never fails because pcscd is missing: that is a state
  // the monitor reports and recovers from.
  static std::unique_ptr<ReaderMonitor> Start(Callback callback, ReaderMonitorOptions options = {});

  ReaderMonitor(const ReaderMonitor&) = delete;
  ReaderMonitor& operator=(const ReaderMonitor&) = delete;
  ~ReaderMonitor();  // Stop()

  // Ends the thread (cancelling a wait in pcscd) and joins it. Idempotent.
  void Stop();

  ReaderMonitorStatus Status() const;

  // Waits until the first scan is done, for callers that want the initial
  // picture before going on.
  bool WaitStarted(absl::Duration timeout) const;

 private:
  ReaderMonitor(Callback callback, ReaderMonitorOptions options);
  // One connection to pcscd (reader_monitor.cc).
  class Loop;

  void Run();
  bool Stopping() const;
  // Sleeps, waking early when Stop() is called.
  void SleepUnlessStopping(absl::Duration duration);
  void CountWait();
  void CountSpinGuard();
  // Logs the events and hands them to the callback, outside mutex_.
  void Deliver(std::vector<ReaderEvent> events);
  // The first scan (or failure) is delivered: wakes WaitStarted.
  void MarkStarted();

  const Callback callback_;
  const ReaderMonitorOptions options_;

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  bool stopping_ = false;
  bool finished_ = false;
  ReaderMonitorStatus status_;
  // The context the thread is using now (0: none), so that Stop() can cancel
  // its wait. The thread clears it (under mutex_) before releasing it.
  int64_t live_context_ = 0;
  bool has_live_context_ = false;

  std::thread thread_;
};

// What changed between two looks at the readers, as events in the order a
// consumer should apply them: removals (cards before their readers) first,
// then additions (readers before their cards). Pure, for tests.
std::vector<ReaderEvent> DiffReaders(const std::vector<ReaderSnapshot>& before,
                                     const std::vector<ReaderSnapshot>& after, absl::Time now);

}  // namespace signet

#endif  // SIGNET_TOKENS_READER_MONITOR_H_
