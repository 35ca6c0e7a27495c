#include "appliance/server/work_queue.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "appliance/server/exception_status.h"
#include "common/log.h"

namespace signet::server {

WorkQueue::WorkQueue(std::string name, int workers, int max_queued)
    : name_(std::move(name)), max_queued_(static_cast<size_t>(std::max(0, max_queued))) {
  for (int i = 0; i < std::max(1, workers); ++i) workers_.emplace_back([this] { Work(); });
}

WorkQueue::~WorkQueue() {
  Shutdown();
  for (std::thread& worker : workers_) worker.join();
}

absl::Status WorkQueue::Submit(absl::Time deadline, Task task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (shut_down_) {
      return absl::UnavailableError(absl::StrCat("'", name_, "' is shutting down"));
    }
    // Idle workers take queued tasks at once: only tasks beyond them wait.
    const size_t idle = workers_.size() - static_cast<size_t>(running_);
    if (queue_.size() >= idle + max_queued_) {
      return absl::ResourceExhaustedError(
          absl::StrCat("'", name_, "' has ", queue_.size(), " operations waiting already"));
    }
    queue_.push_back({deadline, std::move(task)});
  }
  wake_.notify_one();
  return absl::OkStatus();
}

void WorkQueue::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    shut_down_ = true;
  }
  wake_.notify_all();
}

int WorkQueue::running() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return running_;
}

int WorkQueue::queued() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int>(queue_.size());
}

void WorkQueue::Work() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return !queue_.empty() || shut_down_; });
    if (queue_.empty()) return;  // shut down and drained
    Entry entry = std::move(queue_.front());
    queue_.pop_front();
    ++running_;
    lock.unlock();
    // A task answers its call whatever happens (its own exceptions
    // included); one that still throws must not end the daemon.
    const absl::Status escaped = RunCatching([&] {
      entry.task(absl::Now() > entry.deadline
                     ? absl::DeadlineExceededError(
                           absl::StrCat("the deadline passed while waiting for '", name_, "'"))
                     : absl::OkStatus());
    });
    if (!escaped.ok()) {
      Log(LogLevel::kError, absl::StrCat("a task on '", name_, "' failed: ", escaped.message()));
    }
    // Destroy the task (and what it holds) before counting it done.
    entry.task = nullptr;
    lock.lock();
    --running_;
  }
}

}  // namespace signet::server
