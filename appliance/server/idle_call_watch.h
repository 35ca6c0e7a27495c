// Ends the mail calls whose clients stopped sending (config:
// limits.upload_idle_timeout_seconds). A client that opens a call and then
// sends nothing, or stops halfway through its mail, would otherwise hold its
// buffer and its share of the byte budget for as long as its connection
// lives. One thread looks at every call in upload a few times per timeout,
// and ends those that received nothing for the whole timeout.
//
// Who ends a call is decided once (CallProgress::ClaimEnd): the call itself
// (its result, an error) or the watch (idle), never both, so a gRPC reactor
// is finished exactly once. A call that the watch claimed stays alive until
// it is finished, because only a finished call is destroyed: the watch's
// callback may use it.
#ifndef SIGNET_APPLIANCE_SERVER_IDLE_CALL_WATCH_H_
#define SIGNET_APPLIANCE_SERVER_IDLE_CALL_WATCH_H_

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/time/time.h"

namespace signet::server {

// One call's progress, shared by the call and the watch.
class CallProgress {
 public:
  // The call is handling a message, or its work is queued or running (the
  // call's deadline governs then): never idle until Resume. False if the
  // watch already ended the call, which must then do nothing more.
  bool Pause();
  // The call waits for its client again; the idle time counts from now.
  void Resume();
  // The right to end the call: true for the first claim only.
  bool ClaimEnd();
  bool ended() const;

 private:
  friend class IdleCallWatch;
  explicit CallProgress(std::function<void()> on_idle, absl::Time now)
      : on_idle_(std::move(on_idle)), last_(now) {}
  // Claims the end if the call is watched and received nothing since
  // `idle_since`.
  bool ClaimIfIdle(absl::Time idle_since);

  const std::function<void()> on_idle_;
  mutable std::mutex mutex_;
  absl::Time last_;
  bool watched_ = true;
  bool ended_ = false;
};

class IdleCallWatch {
 public:
  // `timeout`: how long a watched call may receive nothing.
  explicit IdleCallWatch(absl::Duration timeout);
  IdleCallWatch(const IdleCallWatch&) = delete;
  IdleCallWatch& operator=(const IdleCallWatch&) = delete;
  // Stops the thread; calls still watched are no longer ended by it.
  ~IdleCallWatch();

  // Watches a new call from now on. `on_idle` runs on the watch's thread
  // once, after the watch claimed the call's end: it must finish the call.
  std::shared_ptr<CallProgress> Watch(std::function<void()> on_idle);

  absl::Duration timeout() const { return timeout_; }
  // Calls ended for idleness so far.
  int expired() const;

 private:
  void Run();

  const absl::Duration timeout_;
  const absl::Duration tick_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  int expired_ = 0;
  // Calls that may still be watched; dropped once ended or gone.
  std::vector<std::weak_ptr<CallProgress>> calls_;
  std::thread thread_;
};

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_IDLE_CALL_WATCH_H_
