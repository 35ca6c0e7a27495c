// A pool of worker threads with a bounded queue (docs/architecture.md, decision D8): one
// per token, sized by its operations in flight, so that a slow smartcard
// never holds up a network HSM, and gRPC's own threads never block on a
// token. A full queue refuses at once (RESOURCE_EXHAUSTED); a task whose
// deadline passed while it waited is not started.
#ifndef SIGNET_APPLIANCE_SERVER_WORK_QUEUE_H_
#define SIGNET_APPLIANCE_SERVER_WORK_QUEUE_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace signet::server {

class WorkQueue {
 public:
  // `start` is OK when the task may run, DEADLINE_EXCEEDED when its deadline
  // passed in the queue; the task is called exactly once either way, on a
  // worker thread.
  using Task = std::function<void(absl::Status start)>;

  WorkQueue(std::string name, int workers, int max_queued);
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;
  // Shuts down (see Shutdown) and joins the workers.
  ~WorkQueue();

  // Queues `task`; RESOURCE_EXHAUSTED (task not called) when max_queued
  // tasks already wait, UNAVAILABLE after Shutdown.
  absl::Status Submit(absl::Time deadline, Task task);

  // Refuses new tasks; tasks already queued or running still run (so calls
  // in flight get their results when the daemon stops).
  void Shutdown();

  int running() const;
  int queued() const;
  int workers() const { return static_cast<int>(workers_.size()); }

 private:
  struct Entry {
    absl::Time deadline;
    Task task;
  };
  void Work();

  const std::string name_;
  const size_t max_queued_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Entry> queue_;
  int running_ = 0;
  bool shut_down_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_WORK_QUEUE_H_
