// SIGPIPE blocked in the calling thread for a scope, and one raised
// meanwhile discarded: a write to a peer that went away (an LDAP server, a
// child process that stopped reading) then fails with EPIPE instead of
// killing the process. A library must not rely on its host ignoring
// SIGPIPE.
#ifndef SIGNET_COMMON_SIGPIPE_BLOCK_H_
#define SIGNET_COMMON_SIGPIPE_BLOCK_H_

#include <pthread.h>
#include <signal.h>
#include <time.h>

namespace signet {

class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old_);
  }
  ~ScopedSigpipeBlock() {
    // Only a SIGPIPE raised inside the scope is discarded; one that was
    // already pending stays for the thread's own handling.
    if (!was_pending_) {
      sigset_t pipe_set;
      sigemptyset(&pipe_set);
      sigaddset(&pipe_set, SIGPIPE);
      timespec zero = {0, 0};
      while (sigtimedwait(&pipe_set, nullptr, &zero) == SIGPIPE) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  sigset_t old_;
  bool was_pending_ = false;
};

}  // namespace signet

#endif  // SIGNET_COMMON_SIGPIPE_BLOCK_H_
