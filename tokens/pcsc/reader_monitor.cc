#include "tokens/pcsc/reader_monitor.h"

#include <PCSC/pcsclite.h>
#include <PCSC/winscard.h>

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/log.h"

namespace signet {
namespace {

// Only this many reader states fit in one SCardGetStatusChange (pcsc-lite
// refuses more with SCARD_E_INVALID_PARAMETER); the PnP pseudo-reader takes
// one of them.
constexpr size_t kMaxReaderStates = PCSCLITE_MAX_READERS_CONTEXTS;

// A wait that ends this quickly without anything to report is suspicious:
// several in a row make the monitor pause instead of spinning on pcscd.
constexpr absl::Duration kQuickReturn = absl::Milliseconds(5);
constexpr int kQuickReturnsBeforePause = 3;
constexpr absl::Duration kSpinPause = absl::Milliseconds(100);

std::string PcscError(absl::string_view call, LONG rv) {
  return absl::StrFormat("%s: %s (0x%08X)", call, pcsc_stringify_error(rv),
                         static_cast<uint32_t>(rv));
}

// Owns one SCARDCONTEXT; released however the connection ends.
class PcscContext {
 public:
  explicit PcscContext(SCARDCONTEXT context) : context_(context) {}
  PcscContext(const PcscContext&) = delete;
  PcscContext& operator=(const PcscContext&) = delete;
  ~PcscContext() {
    // After pcscd died this only frees the client side; its error is moot.
    (void)SCardReleaseContext(context_);
  }
  SCARDCONTEXT get() const { return context_; }

 private:
  SCARDCONTEXT context_;
};

// SCardListReaders; no readers is an empty list, not an error.
absl::StatusOr<std::vector<std::string>> ListReaders(SCARDCONTEXT context) {
  // The list can grow between the size query and the read: try again then.
  for (int attempt = 0; attempt < 3; ++attempt) {
    DWORD size = 0;
    LONG rv = SCardListReaders(context, nullptr, nullptr, &size);
    if (rv == SCARD_E_NO_READERS_AVAILABLE) return std::vector<std::string>{};
    if (rv != SCARD_S_SUCCESS) return absl::UnavailableError(PcscError("SCardListReaders", rv));
    std::string buffer(size, '\0');
    rv = SCardListReaders(context, nullptr, buffer.data(), &size);
    if (rv == SCARD_E_INSUFFICIENT_BUFFER) continue;
    if (rv == SCARD_E_NO_READERS_AVAILABLE) return std::vector<std::string>{};
    if (rv != SCARD_S_SUCCESS) return absl::UnavailableError(PcscError("SCardListReaders", rv));
    buffer.resize(std::min<size_t>(size, buffer.size()));
    // A multi-string: names separated by NULs, ended by an empty one.
    std::vector<std::string> names;
    for (size_t pos = 0; pos < buffer.size() && buffer[pos] != '\0';) {
      const size_t end = buffer.find('\0', pos);
      const size_t stop = end == std::string::npos ? buffer.size() : end;
      names.push_back(buffer.substr(pos, stop - pos));
      pos = stop + 1;
    }
    return names;
  }
  return absl::UnavailableError("SCardListReaders: the reader list keeps changing");
}

ReaderSnapshot SnapshotOf(const SCARD_READERSTATE& state) {
  ReaderSnapshot reader;
  reader.name = state.szReader;
  const DWORD flags = state.dwEventState & 0xFFFF;
  reader.card_present = (flags & SCARD_STATE_PRESENT) != 0;
  reader.card_mute = (flags & SCARD_STATE_MUTE) != 0;
  if (reader.card_present) {
    const size_t length = std::min<size_t>(state.cbAtr, sizeof(state.rgbAtr));
    reader.atr.assign(state.rgbAtr, state.rgbAtr + length);
  }
  reader.event_count = static_cast<uint32_t>((state.dwEventState >> 16) & 0xFFFF);
  return reader;
}

const ReaderSnapshot* FindReader(const std::vector<ReaderSnapshot>& readers,
                                 const std::string& name) {
  for (const ReaderSnapshot& reader : readers) {
    if (reader.name == name) return &reader;
  }
  return nullptr;
}

// Two looks at a reader that holds a card both times: was the card swapped in
// between? A new ATR says so; so do two or more card events (a removal and an
// insertion) in pcsc-lite's per-reader counter, when both looks carry one.
bool CardSwapped(const ReaderSnapshot& before, const ReaderSnapshot& after) {
  if (before.atr != after.atr) return true;
  if (before.event_count == 0 || after.event_count == 0) return false;
  const uint32_t delta = (after.event_count - before.event_count) & 0xFFFF;
  return delta >= 2;
}

ReaderEvent MakeEvent(ReaderEventKind kind, std::string reader, absl::Time now) {
  ReaderEvent event;
  event.kind = kind;
  event.reader = std::move(reader);
  event.seen = now;
  return event;
}

}  // namespace

absl::string_view ReaderEventKindName(ReaderEventKind kind) {
  switch (kind) {
    case ReaderEventKind::kReaderAdded:
      return "reader added";
    case ReaderEventKind::kReaderRemoved:
      return "reader removed";
    case ReaderEventKind::kCardInserted:
      return "card inserted";
    case ReaderEventKind::kCardRemoved:
      return "card removed";
    case ReaderEventKind::kPcscdUnavailable:
      return "pcscd unavailable";
    case ReaderEventKind::kPcscdAvailable:
      return "pcscd available";
  }
  return "unknown";
}

std::string ReaderEvent::DebugString() const {
  std::string text(ReaderEventKindName(kind));
  if (!reader.empty()) absl::StrAppend(&text, ": ", reader);
  if (!atr.empty()) {
    absl::StrAppend(&text, " (ATR ",
                    absl::BytesToHexString(
                        absl::string_view(reinterpret_cast<const char*>(atr.data()), atr.size())),
                    ")");
  }
  if (!detail.empty()) absl::StrAppend(&text, ": ", detail);
  return text;
}

std::vector<ReaderEvent> DiffReaders(const std::vector<ReaderSnapshot>& before,
                                     const std::vector<ReaderSnapshot>& after, absl::Time now) {
  std::vector<ReaderEvent> removals;
  std::vector<ReaderEvent> additions;
  auto inserted = [&](const ReaderSnapshot& reader) {
    ReaderEvent event = MakeEvent(ReaderEventKind::kCardInserted, reader.name, now);
    event.atr = reader.atr;
    additions.push_back(std::move(event));
  };
  for (const ReaderSnapshot& old_reader : before) {
    const ReaderSnapshot* new_reader = FindReader(after, old_reader.name);
    if (new_reader == nullptr) {
      if (old_reader.card_present) {
        removals.push_back(MakeEvent(ReaderEventKind::kCardRemoved, old_reader.name, now));
      }
      removals.push_back(MakeEvent(ReaderEventKind::kReaderRemoved, old_reader.name, now));
      continue;
    }
    if (old_reader.card_present &&
        (!new_reader->card_present || CardSwapped(old_reader, *new_reader))) {
      removals.push_back(MakeEvent(ReaderEventKind::kCardRemoved, old_reader.name, now));
    }
  }
  for (const ReaderSnapshot& new_reader : after) {
    const ReaderSnapshot* old_reader = FindReader(before, new_reader.name);
    if (old_reader == nullptr) {
      additions.push_back(MakeEvent(ReaderEventKind::kReaderAdded, new_reader.name, now));
      if (new_reader.card_present) inserted(new_reader);
      continue;
    }
    if (new_reader.card_present &&
        (!old_reader->card_present || CardSwapped(*old_reader, new_reader))) {
      inserted(new_reader);
    }
  }
  removals.insert(removals.end(), std::make_move_iterator(additions.begin()),
                  std::make_move_iterator(additions.end()));
  return removals;
}

// --- the monitor thread ------------------------------------------------------

// One connection to pcscd: list, wait, report, until pcscd fails or the
// monitor stops. The state that must outlive a connection (what was last
// reported) lives in ReaderMonitor::Run.
class ReaderMonitor::Loop {
 public:
  Loop(ReaderMonitor& monitor, SCARDCONTEXT context) : monitor_(monitor), context_(context) {}

  // Returns the PC/SC error that ended the connection, or nullopt when the
  // monitor is stopping. `on_scan` gets every fresh picture of the readers.
  template <typename OnScan>
  std::optional<std::string> Run(OnScan on_scan) {
    int quick_returns = 0;
    while (!monitor_.Stopping()) {
      absl::StatusOr<std::vector<std::string>> names = ListReaders(context_);
      if (!names.ok()) return std::string(names.status().message());
      if (names->size() > kMaxReaderStates - 1) {
        // Only pcscd's own limit gets here; the rest are seen after a restart.
        Log(LogLevel::kWarning,
            absl::StrCat("reader monitor: watching the first ", kMaxReaderStates - 1, " of ",
                         names->size(), " readers"));
        names->resize(kMaxReaderStates - 1);
      }

      std::vector<SCARD_READERSTATE> states(names->size() + 1);
      for (size_t i = 0; i < names->size(); ++i) {
        states[i].szReader = (*names)[i].c_str();
        auto known = current_.find((*names)[i]);
        // UNAWARE makes pcsc-lite answer at once with the reader's state.
        states[i].dwCurrentState = known == current_.end() ? SCARD_STATE_UNAWARE : known->second;
      }
      // Fed back as it came: pcsc-lite 1.9.9 wakes this entry when the reader
      // count changes during the wait; newer versions also keep a counter of
      // reader events in its high word.
      states.back().szReader = kPnpNotificationReader;
      states.back().dwCurrentState = pnp_state_;

      const absl::Time began = absl::Now();
      const DWORD timeout_ms = static_cast<DWORD>(
          std::max<int64_t>(1, absl::ToInt64Milliseconds(monitor_.options_.wait_timeout)));
      const LONG rv = SCardGetStatusChange(context_, timeout_ms, states.data(),
                                           static_cast<DWORD>(states.size()));
      monitor_.CountWait();

      bool changed = false;
      if (rv == SCARD_S_SUCCESS) {
        std::vector<ReaderSnapshot> readers;
        std::map<std::string, DWORD> current;
        for (size_t i = 0; i < names->size(); ++i) {
          // A reader that left during the wait: gone from the picture.
          if (states[i].dwEventState & SCARD_STATE_UNKNOWN) continue;
          current[(*names)[i]] = states[i].dwEventState & ~static_cast<DWORD>(SCARD_STATE_CHANGED);
          readers.push_back(SnapshotOf(states[i]));
        }
        pnp_state_ = states.back().dwEventState & ~static_cast<DWORD>(SCARD_STATE_CHANGED);
        current_ = std::move(current);
        changed = on_scan(std::move(readers));
      } else if (rv == SCARD_E_TIMEOUT) {
        // Nothing changed in the readers we watched; a reader added just
        // before the wait began shows in the next listing.
        auto unlisted = [&](const std::string& name) {
          return std::find(names->begin(), names->end(), name) == names->end();
        };
        std::vector<ReaderSnapshot> readers = monitor_.Status().readers;
        std::erase_if(readers, [&](const ReaderSnapshot& reader) { return unlisted(reader.name); });
        std::erase_if(current_, [&](const auto& entry) { return unlisted(entry.first); });
        on_scan(std::move(readers));
        quick_returns = 0;
        continue;
      } else if (rv == SCARD_E_CANCELLED) {
        continue;  // Stop() did it; the loop condition ends the thread
      } else if (rv == SCARD_E_UNKNOWN_READER || rv == SCARD_E_READER_UNAVAILABLE) {
        // A listed reader left before the wait began: list again.
      } else {
        return PcscError("SCardGetStatusChange", rv);
      }

      if (!changed && absl::Now() - began < kQuickReturn) {
        if (++quick_returns >= kQuickReturnsBeforePause) {
          monitor_.CountSpinGuard();
          monitor_.SleepUnlessStopping(kSpinPause);
          quick_returns = 0;
        }
      } else {
        quick_returns = 0;
      }
    }
    return std::nullopt;
  }

 private:
  ReaderMonitor& monitor_;
  const SCARDCONTEXT context_;
  // The last dwEventState of every watched reader, fed back as
  // dwCurrentState so that the next wait blocks until something differs.
  std::map<std::string, DWORD> current_;
  DWORD pnp_state_ = SCARD_STATE_UNAWARE;
};

std::unique_ptr<ReaderMonitor> ReaderMonitor::Start(Callback callback,
                                                    ReaderMonitorOptions options) {
  std::unique_ptr<ReaderMonitor> monitor(new ReaderMonitor(std::move(callback), options));
  monitor->thread_ = std::thread([raw = monitor.get()] { raw->Run(); });
  return monitor;
}

ReaderMonitor::ReaderMonitor(Callback callback, ReaderMonitorOptions options)
    : callback_(std::move(callback)), options_(options) {}

ReaderMonitor::~ReaderMonitor() { Stop(); }

void ReaderMonitor::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  // From the callback: the thread ends once the callback returns.
  if (std::this_thread::get_id() == thread_.get_id()) return;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!finished_) {
      // Under mutex_, so the thread cannot release the context meanwhile.
      // Repeated because a cancel that lands just before the thread starts
      // waiting is lost.
      if (has_live_context_) (void)SCardCancel(static_cast<SCARDCONTEXT>(live_context_));
      changed_.wait_for(lock, std::chrono::milliseconds(20), [this] { return finished_; });
    }
  }
  if (thread_.joinable()) thread_.join();
}

ReaderMonitorStatus ReaderMonitor::Status() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return status_;
}

bool ReaderMonitor::WaitStarted(absl::Duration timeout) const {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, absl::ToChronoMilliseconds(timeout), [this] {
    return status_.started || finished_;
  }) && status_.started;
}

bool ReaderMonitor::Stopping() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stopping_;
}

void ReaderMonitor::SleepUnlessStopping(absl::Duration duration) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait_for(lock, absl::ToChronoMilliseconds(duration), [this] { return stopping_; });
}

void ReaderMonitor::CountWait() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++status_.waits;
}

void ReaderMonitor::CountSpinGuard() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++status_.spin_guard_sleeps;
}

void ReaderMonitor::MarkStarted() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (status_.started) return;
    status_.started = true;
  }
  changed_.notify_all();
}

void ReaderMonitor::Deliver(std::vector<ReaderEvent> events) {
  for (const ReaderEvent& event : events) {
    Log(event.kind == ReaderEventKind::kPcscdUnavailable ? LogLevel::kWarning : LogLevel::kInfo,
        absl::StrCat("reader monitor: ", event.DebugString()));
    if (callback_) callback_(event);
    std::lock_guard<std::mutex> lock(mutex_);
    ++status_.events;
  }
}

void ReaderMonitor::Run() {
  // What the consumer was last told: the readers, and whether pcscd was up.
  std::vector<ReaderSnapshot> reported;
  std::optional<bool> reported_available;
  absl::Duration backoff = options_.initial_backoff;

  auto fail = [&](std::string error) {
    std::vector<ReaderEvent> events;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      status_.pcscd_available = false;
      status_.readers.clear();
      status_.last_error = error;
      status_.last_error_time = absl::Now();
    }
    if (reported_available != false) {
      ReaderEvent event = MakeEvent(ReaderEventKind::kPcscdUnavailable, "", absl::Now());
      event.detail = std::move(error);
      events.push_back(std::move(event));
      reported_available = false;
    }
    Deliver(std::move(events));
    MarkStarted();
  };

  while (!Stopping()) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++status_.connect_attempts;
    }
    SCARDCONTEXT raw = 0;
    const LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &raw);
    if (rv != SCARD_S_SUCCESS) {
      fail(PcscError("SCardEstablishContext", rv));
      SleepUnlessStopping(backoff);
      backoff = std::min(backoff * 2, options_.max_backoff);
      continue;
    }

    std::optional<std::string> error;
    {
      PcscContext context(raw);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        live_context_ = static_cast<int64_t>(context.get());
        has_live_context_ = true;
      }
      Loop loop(*this, context.get());
      error = loop.Run([&](std::vector<ReaderSnapshot> readers) {
        const absl::Time now = absl::Now();
        std::vector<ReaderEvent> events;
        if (reported_available != true) {
          // Back after a gap (or the first scan): nobody can say whether a
          // card that is present again is the card that was there, so every
          // card seen before the gap counts as removed.
          events.push_back(MakeEvent(ReaderEventKind::kPcscdAvailable, "", now));
          for (ReaderSnapshot& reader : reported) {
            if (reader.card_present) {
              events.push_back(MakeEvent(ReaderEventKind::kCardRemoved, reader.name, now));
              reader.card_present = false;
              reader.atr.clear();
            }
          }
          reported_available = true;
        }
        std::vector<ReaderEvent> diff = DiffReaders(reported, readers, now);
        events.insert(events.end(), std::make_move_iterator(diff.begin()),
                      std::make_move_iterator(diff.end()));
        reported = readers;
        backoff = options_.initial_backoff;
        {
          std::lock_guard<std::mutex> lock(mutex_);
          status_.pcscd_available = true;
          status_.readers = std::move(readers);
        }
        const bool changed = !events.empty();
        Deliver(std::move(events));
        MarkStarted();
        return changed;
      });
      std::lock_guard<std::mutex> lock(mutex_);
      has_live_context_ = false;
      live_context_ = 0;
    }  // SCardReleaseContext
    if (!error.has_value()) break;
    fail(*std::move(error));
    SleepUnlessStopping(backoff);
    backoff = std::min(backoff * 2, options_.max_backoff);
  }

  {
    std::lock_guard<std::mutex> lock(mutex_);
    finished_ = true;
  }
  changed_.notify_all();
}

}  // namespace signet
