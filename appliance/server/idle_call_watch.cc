#include "appliance/server/idle_call_watch.h"

#include <algorithm>

#include "absl/time/clock.h"

namespace signet::server {

bool CallProgress::Pause() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (ended_) return false;
  watched_ = false;
  return true;
}

void CallProgress::Resume() {
  std::lock_guard<std::mutex> lock(mutex_);
  watched_ = true;
  last_ = absl::Now();
}

bool CallProgress::ClaimEnd() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (ended_) return false;
  ended_ = true;
  return true;
}

bool CallProgress::ended() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return ended_;
}

bool CallProgress::ClaimIfIdle(absl::Time idle_since) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (ended_ || !watched_ || last_ > idle_since) return false;
  ended_ = true;
  return true;
}

IdleCallWatch::IdleCallWatch(absl::Duration timeout)
    : timeout_(timeout),
      // A call is ended at most a quarter of the timeout late.
      tick_(std::clamp(timeout / 4, absl::Milliseconds(50), absl::Seconds(1))),
      thread_([this] { Run(); }) {}

IdleCallWatch::~IdleCallWatch() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::shared_ptr<CallProgress> IdleCallWatch::Watch(std::function<void()> on_idle) {
  std::shared_ptr<CallProgress> progress(new CallProgress(std::move(on_idle), absl::Now()));
  std::lock_guard<std::mutex> lock(mutex_);
  calls_.push_back(progress);
  return progress;
}

int IdleCallWatch::expired() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return expired_;
}

void IdleCallWatch::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!wake_.wait_for(lock, absl::ToChronoMilliseconds(tick_), [this] { return stopping_; })) {
    const absl::Time idle_since = absl::Now() - timeout_;
    std::vector<std::shared_ptr<CallProgress>> idle;
    std::erase_if(calls_, [&](const std::weak_ptr<CallProgress>& weak) {
      std::shared_ptr<CallProgress> call = weak.lock();
      if (call == nullptr || call->ended()) return true;
      if (!call->ClaimIfIdle(idle_since)) return false;
      idle.push_back(std::move(call));
      return true;
    });
    expired_ += static_cast<int>(idle.size());
    // Finishing a call may run gRPC callbacks on this thread, and those may
    // start new calls (Watch): not under the lock.
    lock.unlock();
    for (const std::shared_ptr<CallProgress>& call : idle) call->on_idle_();
    lock.lock();
  }
}

}  // namespace signet::server
