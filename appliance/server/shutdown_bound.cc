#include "appliance/server/shutdown_bound.h"

#include <unistd.h>

#include <cstdio>
#include <future>
#include <memory>

#include "absl/time/clock.h"

namespace signet::server {

ShutdownBound::ShutdownBound(absl::Time deadline, absl::Duration last_words_limit,
                             std::function<void()> last_words)
    : last_words_(std::move(last_words)),
      thread_([this, deadline, last_words_limit] { Watch(deadline, last_words_limit); }) {}

ShutdownBound::~ShutdownBound() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    done_ = true;
  }
  finished_.notify_all();
  thread_.join();
}

void ShutdownBound::Watch(absl::Time deadline, absl::Duration last_words_limit) {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (finished_.wait_until(lock, absl::ToChronoTime(deadline), [this] { return done_; })) return;
  }
  std::fputs(
      "signetd: calls are still running past the shutdown grace (a token that stopped "
      "answering?): closing the audit log and exiting\n",
      stderr);
  // On its own thread, so that a last word that hangs too (the checkpoint
  // key's token) cannot hold the exit. Shared: the thread may outlive this
  // function, never the process.
  auto spoken = std::make_shared<std::promise<void>>();
  std::future<void> said = spoken->get_future();
  std::thread([this, spoken] {
    last_words_();
    spoken->set_value();
  }).detach();
  if (said.wait_for(absl::ToChronoMilliseconds(last_words_limit)) != std::future_status::ready) {
    std::fputs("signetd: the audit log could not be closed in time\n", stderr);
  }
  std::fflush(stderr);
  _exit(kExitShutdownTimedOut);
}

}  // namespace signet::server
