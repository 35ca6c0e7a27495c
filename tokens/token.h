// One token: its slot, its login, its session pool, and the state machine
// that takes it through faults and PIN lockout.
//
// Login happens once per token (login state is per application in PKCS#11)
// when a session is opened and the token says it is not logged in. A PIN the
// token rejected is never presented again until an operator clears the
// lockout. After a fault the token is re-opened on the next use; after a
// failed re-open, the next attempt waits for the recovery interval.
#ifndef SIGNET_TOKENS_TOKEN_H_
#define SIGNET_TOKENS_TOKEN_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tokens/module.h"
#include "tokens/pin_source.h"
#include "tokens/session_pool.h"
#include "tokens/token_selector.h"

namespace signet {

enum class TokenState {
  kReady,       // sessions can be had
  kRecovering,  // a fault was seen; the token is re-opened on the next use
  kAbsent,      // no token matching the selector is present
  kLockedOut,   // the PIN was rejected, or the token warned of its last tries
};

absl::string_view TokenStateName(TokenState state);

struct TokenOptions {
  // The name the configuration gives the token (used in every message).
  std::string name;
  TokenSelector selector;
  // Null for tokens that need no login.
  std::shared_ptr<const PinSource> pin_source;
  int max_in_flight = 4;
  absl::Duration recovery_interval = absl::Seconds(1);
  // The module reaches this token through pcscd (OpenSC, ykcs11): the reader
  // watch takes it out of service the moment its card leaves, and a call cut
  // off by the card's leaving counts as a token fault (ReportFailure).
  bool pcsc = false;
  // Check ECDSA signatures before releasing them (RSA ones always are).
  bool verify_ecdsa = true;
};

struct TokenStatus {
  std::string name;
  TokenState state = TokenState::kAbsent;
  // Why the token is not ready; empty when it is.
  std::string detail;
  TokenDescription description;  // as last seen
  int in_flight = 0;
  int waiting = 0;
};

class Token {
 public:
  // A token that is absent is still created (state kAbsent) and comes up on a
  // later use or rescan. Errors only for a configuration that cannot work.
  static absl::StatusOr<std::shared_ptr<Token>> Open(std::shared_ptr<Module> module,
                                                     TokenOptions options);
  Token(const Token&) = delete;
  Token& operator=(const Token&) = delete;
  ~Token();

  // A logged-in session for one operation, recovering the token first if a
  // fault left it so. FAILED_PRECONDITION when locked out; UNAVAILABLE
  // (retryable) while absent or recovering; DEADLINE_EXCEEDED when no session
  // became free in time.
  absl::StatusOr<SessionLease> Acquire(absl::Time deadline);

  // Called by an operation whose PKCS#11 call on `lease` failed with `rv`.
  // Token faults drop the session and every other session of its epoch, and
  // send the token to recovery. Returns the status the operation reports.
  absl::Status ReportFailure(SessionLease& lease, absl::string_view function, CK_RV rv);
  // The same for a status from a helper that made PKCS#11 calls on `lease`
  // (it carries the CK_RV); other statuses pass through unchanged.
  absl::Status ReportFailure(SessionLease& lease, absl::Status status);

  // For a key with CKA_ALWAYS_AUTHENTICATE, between C_*Init and the
  // operation on `lease`: presents the PIN again (C_Login, CKU_CONTEXT_SPECIFIC).
  // A rejected PIN locks the token out as at login. On failure the session is
  // marked broken. Defined in token_context_login.cc.
  absl::Status LoginForOperation(SessionLease& lease);

  // Tries to bring a token that is absent or recovering back now, ignoring
  // the recovery interval (an operator's or the registry's rescan).
  absl::Status Rescan();

  // The token's card left its reader (the PC/SC reader monitor said so), or
  // its reader or pcscd went away. Every session is forgotten, not closed:
  // the module dropped them with the card, and an old handle number may
  // already name a session on the next card. Calls waiting for a session
  // fail at once with UNAVAILABLE, and the token stays absent until a rescan
  // finds it again. A locked-out token stays locked out.
  void MarkAbsent(absl::string_view reason);

  // The operator's answer to a lockout (after fixing the PIN source, or
  // unlocking the token): allows one login attempt again.
  void ClearLockout();

  TokenStatus Status() const;
  TokenState state() const;
  const std::string& name() const { return options_.name; }
  const TokenOptions& options() const { return options_; }
  const Module& module() const { return *module_; }
  // Changes whenever the token's sessions were lost; key handles cached under
  // an older generation are found again and checked before use.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  Token(std::shared_ptr<Module> module, TokenOptions options);

  absl::StatusOr<CK_SESSION_HANDLE> OpenSession();
  void CloseSession(CK_SESSION_HANDLE session);
  absl::Status LoginIfNeeded(CK_SESSION_HANDLE session);
  absl::Status LockOut(std::string reason, std::optional<CK_RV> rv);
  absl::Status Recover(bool rate_limited);
  // Opens a session for the pool; fails fast while the token is absent.
  absl::StatusOr<CK_SESSION_HANDLE> OpenPooledSession();
  // Records that the token is not there (or not this card); logs it once.
  absl::Status SetAbsent(std::string detail);
  absl::Status NotReadyError() const;  // requires mutex_
  void EnterRecovery(uint64_t epoch, std::string reason);
  // Catches up with a re-initialisation of the module (by this token or
  // another one on the same module): every session is forgotten.
  void SyncWithModule();
  absl::StatusOr<TokenDescription> FindOnModule();
  // The configured selector, narrowed to the pinned serial.
  TokenSelector CurrentSelector() const;
  std::string PinnedSerial() const;
  // A token the configured selector matches but the pinned serial does not:
  // another card in this one's place. NOT_FOUND when there is none.
  absl::StatusOr<TokenDescription> FindAnotherCard();

  const std::shared_ptr<Module> module_;
  const TokenOptions options_;
  SessionPool pool_;
  std::atomic<uint64_t> generation_{1};
  // The module's init generation this token's sessions belong to.
  std::atomic<uint64_t> module_generation_;

  mutable std::mutex mutex_;
  TokenState state_ = TokenState::kAbsent;
  std::string detail_;
  TokenDescription description_;
  // The serial of the first token the selector found. A selector without a
  // serial (a label, say) also matches another card put in the same reader;
  // that card is never used in this one's place, and no PIN is presented
  // to it. Empty until found, and for tokens that report no serial.
  std::string pinned_serial_;
  // Counts MarkAbsent calls, so that a recovery that raced with a removal
  // does not declare the token ready.
  uint64_t absence_count_ = 0;
  // Absent for the reason MarkAbsent gave (the reader watch: pcscd gone, the
  // card pulled), which a rescan that merely finds no token must not replace
  // with the vaguer "no token matching".
  bool absent_by_watch_ = false;
  bool force_login_ = false;
  // An operator cleared a lockout: one login may ignore the token's PIN
  // warnings (a token keeps CKF_USER_PIN_COUNT_LOW until a login succeeds).
  bool operator_cleared_lockout_ = false;
  // What the token answered when it locked us out, if it answered.
  std::optional<CK_RV> lockout_rv_;
  absl::Time last_failed_recovery_ = absl::InfinitePast();

  std::mutex login_mutex_;
  std::mutex recovery_mutex_;
};

}  // namespace signet

#endif  // SIGNET_TOKENS_TOKEN_H_
