// The hard bound on signetd's shutdown. After SIGTERM the calls in flight
// get a grace period; gRPC's own shutdown then waits for every call to be
// finished, and a call whose token operation hangs (a network HSM that
// stopped answering) would hold the daemon forever, with its audit log
// never closed. Past the bound this closes the audit log (its final
// checkpoint written) and ends the process, whatever is still running.
#ifndef SIGNET_APPLIANCE_SERVER_SHUTDOWN_BOUND_H_
#define SIGNET_APPLIANCE_SERVER_SHUTDOWN_BOUND_H_

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/time/time.h"

namespace signet::server {

// signetd's exit code when the bound ended it.
inline constexpr int kExitShutdownTimedOut = 4;

class ShutdownBound {
 public:
  // At `deadline`, unless destroyed first: runs `last_words` (which closes
  // the audit log), waiting for it at most `last_words_limit`, then ends
  // the process with _exit(kExitShutdownTimedOut).
  ShutdownBound(absl::Time deadline, absl::Duration last_words_limit,
                std::function<void()> last_words);
  ShutdownBound(const ShutdownBound&) = delete;
  ShutdownBound& operator=(const ShutdownBound&) = delete;
  // The shutdown finished in time: nothing happens.
  ~ShutdownBound();

 private:
  void Watch(absl::Time deadline, absl::Duration last_words_limit);

  std::function<void()> last_words_;
  std::mutex mutex_;
  std::condition_variable finished_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_SHUTDOWN_BOUND_H_
