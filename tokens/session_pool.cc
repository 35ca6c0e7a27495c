#include "tokens/session_pool.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace signet {

SessionLease& SessionLease::operator=(SessionLease&& other) noexcept {
  if (this != &other) {
    Release();
    pool_ = std::exchange(other.pool_, nullptr);
    handle_ = std::exchange(other.handle_, CK_INVALID_HANDLE);
    epoch_ = other.epoch_;
    broken_ = other.broken_;
  }
  return *this;
}

void SessionLease::Release() {
  if (pool_ == nullptr) return;
  std::exchange(pool_, nullptr)->Return(handle_, epoch_, broken_);
  handle_ = CK_INVALID_HANDLE;
}

SessionPool::SessionPool(int max_in_flight, Opener opener, Closer closer)
    : max_in_flight_(std::max(1, max_in_flight)),
      opener_(std::move(opener)),
      closer_(std::move(closer)) {}

SessionPool::~SessionPool() {
  std::vector<CK_SESSION_HANDLE> idle;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    idle.swap(idle_);
  }
  for (CK_SESSION_HANDLE h : idle) closer_(h);
}

absl::StatusOr<SessionLease> SessionPool::Acquire(absl::Time deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (in_flight_ < max_in_flight_ && waiters_.empty()) {
    ++in_flight_;
  } else {
    Waiter waiter;
    waiters_.push_back(&waiter);
    const auto chrono_deadline = absl::ToChronoTime(deadline);
    while (!waiter.granted) {
      if (waiter.cv.wait_until(lock, chrono_deadline) == std::cv_status::timeout &&
          !waiter.granted) {
        waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &waiter));
        return absl::DeadlineExceededError(absl::StrCat(
            "no session of the token became free before the deadline (", max_in_flight_,
            " operations in flight, ", waiters_.size(), " more waiting)"));
      }
    }
    // The permit of a finished lease was handed to us; in_flight_ already
    // counts it.
  }

  const uint64_t epoch = epoch_;
  if (!idle_.empty()) {
    CK_SESSION_HANDLE handle = idle_.back();
    idle_.pop_back();
    return SessionLease(this, handle, epoch);
  }
  lock.unlock();
  absl::StatusOr<CK_SESSION_HANDLE> opened = opener_();
  if (!opened.ok()) {
    lock.lock();
    HandOnPermit(lock);
    return opened.status();
  }
  return SessionLease(this, *opened, epoch);
}

void SessionPool::Return(CK_SESSION_HANDLE handle, uint64_t epoch, bool broken) {
  std::unique_lock<std::mutex> lock(mutex_);
  const bool reuse = !broken && epoch == epoch_;
  const bool forgotten = epoch < forgotten_below_;
  if (reuse) idle_.push_back(handle);
  HandOnPermit(lock);
  lock.unlock();
  if (!reuse && !forgotten) closer_(handle);
}

void SessionPool::Forget() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++epoch_;
  forgotten_below_ = epoch_;
  idle_.clear();
}

void SessionPool::HandOnPermit(std::unique_lock<std::mutex>& lock) {
  (void)lock;
  if (!waiters_.empty()) {
    Waiter* next = waiters_.front();
    waiters_.pop_front();
    next->granted = true;
    next->cv.notify_one();
  } else {
    --in_flight_;
  }
}

bool SessionPool::Invalidate(uint64_t epoch) {
  std::vector<CK_SESSION_HANDLE> stale;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (epoch != epoch_) return false;
    ++epoch_;
    stale.swap(idle_);
  }
  for (CK_SESSION_HANDLE h : stale) closer_(h);
  return true;
}

void SessionPool::Adopt(CK_SESSION_HANDLE session) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (static_cast<int>(idle_.size()) < max_in_flight_) {
      idle_.push_back(session);
      return;
    }
  }
  closer_(session);
}

uint64_t SessionPool::epoch() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return epoch_;
}

int SessionPool::in_flight() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return in_flight_;
}

int SessionPool::idle() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int>(idle_.size());
}

int SessionPool::waiting() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int>(waiters_.size());
}

}  // namespace signet
