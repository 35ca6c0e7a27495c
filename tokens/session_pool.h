// A pool of open PKCS#11 sessions for one token, and the move-only lease that
// lends one session to one operation.
//
// The pool also bounds the operations in flight on its token: at most
// `max_in_flight` leases exist at once. Callers beyond that wait in arrival
// order and give up at their deadline.
#ifndef SIGNET_TOKENS_SESSION_POOL_H_
#define SIGNET_TOKENS_SESSION_POOL_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tokens/pkcs11.h"

namespace signet {

class SessionPool;

class SessionLease {
 public:
  SessionLease() = default;
  SessionLease(SessionLease&& other) noexcept { *this = std::move(other); }
  SessionLease& operator=(SessionLease&& other) noexcept;
  SessionLease(const SessionLease&) = delete;
  SessionLease& operator=(const SessionLease&) = delete;
  // Gives the session back to the pool, or closes it if it is broken.
  ~SessionLease() { Release(); }

  CK_SESSION_HANDLE handle() const { return handle_; }
  // The pool epoch the session belongs to; a session of an older epoch was
  // opened before a token fault and is never reused.
  uint64_t epoch() const { return epoch_; }
  bool valid() const { return pool_ != nullptr; }
  // The session must not be reused: it is closed on release.
  void MarkBroken() { broken_ = true; }
  void Release();

 private:
  friend class SessionPool;
  SessionLease(SessionPool* pool, CK_SESSION_HANDLE handle, uint64_t epoch)
      : pool_(pool), handle_(handle), epoch_(epoch) {}

  SessionPool* pool_ = nullptr;
  CK_SESSION_HANDLE handle_ = CK_INVALID_HANDLE;
  uint64_t epoch_ = 0;
  bool broken_ = false;
};

class SessionPool {
 public:
  // Opens a session that is ready for use (logged in where needed).
  using Opener = std::function<absl::StatusOr<CK_SESSION_HANDLE>()>;
  using Closer = std::function<void(CK_SESSION_HANDLE)>;

  SessionPool(int max_in_flight, Opener opener, Closer closer);
  SessionPool(const SessionPool&) = delete;
  SessionPool& operator=(const SessionPool&) = delete;
  // Closes the idle sessions. Every lease must have been released.
  ~SessionPool();

  // A session for one operation. Waits (in arrival order) while
  // max_in_flight leases are out; DEADLINE_EXCEEDED when the deadline passes
  // first. Opening a new session can fail with the opener's error.
  absl::StatusOr<SessionLease> Acquire(absl::Time deadline);

  // Every session of `epoch` or older is dropped: idle ones now, leased
  // ones when they come back. A no-op if that epoch was already dropped, so
  // many callers that saw the same fault invalidate once; returns whether
  // this call did it.
  bool Invalidate(uint64_t epoch);

  // Like Invalidate for every epoch so far, but without closing anything:
  // after the module was re-initialised the old handles mean nothing, and
  // closing one could close a new session that got the same number.
  void Forget();

  // Takes a session opened outside Acquire (a recovery probe) as idle, or
  // closes it if the pool has enough idle sessions.
  void Adopt(CK_SESSION_HANDLE session);
  uint64_t epoch() const;

  int max_in_flight() const { return max_in_flight_; }
  int in_flight() const;
  int idle() const;
  int waiting() const;

 private:
  friend class SessionLease;
  struct Waiter {
    std::condition_variable cv;
    bool granted = false;
  };

  void Return(CK_SESSION_HANDLE handle, uint64_t epoch, bool broken);
  // Passes the permit of a finished lease to the longest waiter, or frees it.
  void HandOnPermit(std::unique_lock<std::mutex>& lock);

  const int max_in_flight_;
  const Opener opener_;
  const Closer closer_;

  mutable std::mutex mutex_;
  uint64_t epoch_ = 1;
  // Sessions of epochs below this were forgotten: dropped, never closed.
  uint64_t forgotten_below_ = 0;
  int in_flight_ = 0;
  std::vector<CK_SESSION_HANDLE> idle_;
  std::deque<Waiter*> waiters_;
};

}  // namespace signet

#endif  // SIGNET_TOKENS_SESSION_POOL_H_
