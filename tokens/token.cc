#include "tokens/token.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace signet {

absl::string_view TokenStateName(TokenState state) {
  switch (state) {
    case TokenState::kReady:
      return "ready";
    case TokenState::kRecovering:
      return "recovering";
    case TokenState::kAbsent:
      return "absent";
    case TokenState::kLockedOut:
      return "locked_out";
  }
  return "?";
}

absl::StatusOr<std::shared_ptr<Token>> Token::Open(std::shared_ptr<Module> module,
                                                   TokenOptions options) {
  if (module == nullptr) return absl::InvalidArgumentError("no PKCS#11 module for the token");
  if (options.name.empty()) return absl::InvalidArgumentError("a token needs a name");
  if (options.selector.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "token '", options.name, "' has no selector: give a label, serial or pkcs11: URI"));
  }
  if (options.max_in_flight < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("token '", options.name, "': operations in flight must be at least 1"));
  }
  std::shared_ptr<Token> token(new Token(std::move(module), std::move(options)));
  // Open now so a wrong PIN or a missing token shows at start; the token
  // exists either way and reports its state.
  absl::Status opened = token->Recover(/*rate_limited=*/false);
  if (!opened.ok()) {
    Log(LogLevel::kWarning,
        absl::StrCat("token '", token->name(), "' is not ready at start: ", opened.message()));
  }
  return token;
}

Token::Token(std::shared_ptr<Module> module, TokenOptions options)
    : module_(std::move(module)),
      options_(std::move(options)),
      pool_(
          options_.max_in_flight, [this] { return OpenPooledSession(); },
          [this](CK_SESSION_HANDLE session) { CloseSession(session); }),
      module_generation_(module_->init_generation()) {}

Token::~Token() = default;

absl::StatusOr<CK_SESSION_HANDLE> Token::OpenSession() {
  CK_SLOT_ID slot;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    slot = description_.slot;
  }
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  CK_RV rv = SIGNET_P11(*module_, OpenSession, slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr,
                        nullptr, &session);
  if (rv == CKR_SLOT_ID_INVALID) rv = CKR_TOKEN_NOT_PRESENT;  // the slot left with its token
  if (rv != CKR_OK)
    return Pkcs11Error("C_OpenSession", rv, absl::StrCat("on token '", name(), "'"));
  if (absl::Status login = LoginIfNeeded(session); !login.ok()) {
    CloseSession(session);
    return login;
  }
  return session;
}

absl::StatusOr<CK_SESSION_HANDLE> Token::OpenPooledSession() {
  {
    // A caller that waited for a session while the card was pulled fails
    // now, without asking a module that has nothing to offer.
    std::lock_guard<std::mutex> lock(mutex_);
    if (state_ == TokenState::kAbsent) return NotReadyError();
  }
  return OpenSession();
}

void Token::CloseSession(CK_SESSION_HANDLE session) {
  // A session of a token that left is already gone; nothing to do about it.
  (void)SIGNET_P11(*module_, CloseSession, session);
}

absl::Status Token::LoginIfNeeded(CK_SESSION_HANDLE session) {
  // One login at a time: the first session logs the whole application in,
  // and the others see it in their session state.
  std::lock_guard<std::mutex> login_lock(login_mutex_);
  CK_SLOT_ID slot;
  bool force = false;
  bool operator_cleared = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (state_ == TokenState::kLockedOut) return NotReadyError();
    slot = description_.slot;
    force = force_login_;
    operator_cleared = operator_cleared_lockout_;
  }
  CK_SESSION_INFO session_info{};
  CK_RV rv = SIGNET_P11(*module_, GetSessionInfo, session, &session_info);
  if (rv != CKR_OK)
    return Pkcs11Error("C_GetSessionInfo", rv, absl::StrCat("on token '", name(), "'"));
  const bool logged_in =
      session_info.state == CKS_RO_USER_FUNCTIONS || session_info.state == CKS_RW_USER_FUNCTIONS;
  if (logged_in && !force) return absl::OkStatus();

  CK_TOKEN_INFO info{};
  rv = SIGNET_P11(*module_, GetTokenInfo, slot, &info);
  if (rv != CKR_OK)
    return Pkcs11Error("C_GetTokenInfo", rv, absl::StrCat("on token '", name(), "'"));
  if (!(info.flags & CKF_LOGIN_REQUIRED)) return absl::OkStatus();
  if (info.flags & CKF_USER_PIN_LOCKED) {
    return LockOut("reports its user PIN locked (CKF_USER_PIN_LOCKED)", std::nullopt);
  }
  // Past a wrong PIN elsewhere, another try could lock the token for good;
  // that decision belongs to an operator, who may clear the lockout.
  if (!operator_cleared && (info.flags & CKF_USER_PIN_FINAL_TRY)) {
    return LockOut("reports that one more wrong PIN locks it (CKF_USER_PIN_FINAL_TRY)",
                   std::nullopt);
  }
  if (!operator_cleared && (info.flags & CKF_USER_PIN_COUNT_LOW)) {
    return LockOut("reports failed PIN attempts (CKF_USER_PIN_COUNT_LOW)", std::nullopt);
  }

  if (options_.pin_source == nullptr) {
    if (!(info.flags & CKF_PROTECTED_AUTHENTICATION_PATH)) {
      return absl::FailedPreconditionError(
          absl::StrCat("token '", name(), "' requires a login but has no PIN source"));
    }
    rv = SIGNET_P11(*module_, Login, session, CKU_USER, nullptr, 0);
  } else {
    absl::StatusOr<SecretString> pin = options_.pin_source->Read();
    if (!pin.ok()) {
      return absl::FailedPreconditionError(absl::StrCat("cannot read the PIN of token '", name(),
                                                        "' from ", options_.pin_source->Describe(),
                                                        ": ", pin.status().message()));
    }
    rv = SIGNET_P11(*module_, Login, session, CKU_USER,
                    const_cast<CK_UTF8CHAR*>(pin->ExposeForPkcs11()),
                    static_cast<CK_ULONG>(pin->size()));
    // `pin` wipes itself when it goes out of scope, here.
  }
  if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
    std::lock_guard<std::mutex> lock(mutex_);
    force_login_ = false;
    operator_cleared_lockout_ = false;
    return absl::OkStatus();
  }
  if (IsPinRejection(rv)) {
    return LockOut(absl::StrCat("rejected the PIN from ",
                                options_.pin_source ? options_.pin_source->Describe()
                                                    : std::string("its protected path"),
                                " (", CkrName(rv), ")"),
                   rv);
  }
  return Pkcs11Error("C_Login", rv, absl::StrCat("on token '", name(), "'"));
}

absl::Status Token::LockOut(std::string reason, std::optional<CK_RV> rv) {
  std::string detail;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    state_ = TokenState::kLockedOut;
    lockout_rv_ = rv;
    operator_cleared_lockout_ = false;
    detail_ = absl::StrCat("token '", name(), "' ", reason,
                           "; no PIN will be presented again until an operator clears the lockout");
    detail = detail_;
  }
  Log(LogLevel::kError, detail);
  absl::Status status = absl::FailedPreconditionError(detail);
  return rv ? AttachCkRv(std::move(status), *rv) : status;
}

absl::Status Token::NotReadyError() const {
  switch (state_) {
    case TokenState::kReady:
      return absl::OkStatus();
    case TokenState::kLockedOut: {
      absl::Status status = absl::FailedPreconditionError(detail_);
      return lockout_rv_ ? AttachCkRv(std::move(status), *lockout_rv_) : status;
    }
    case TokenState::kAbsent:
    case TokenState::kRecovering:
      return MarkRetryable(absl::UnavailableError(detail_));
  }
  return absl::InternalError("unknown token state");
}

absl::StatusOr<SessionLease> Token::Acquire(absl::Time deadline) {
  // A request whose deadline passed is not started (docs/architecture.md, decision D8).
  if (absl::Now() >= deadline) {
    return absl::DeadlineExceededError(
        absl::StrCat("the deadline passed before token '", name(), "' was asked"));
  }
  SyncWithModule();
  bool ready;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (state_ == TokenState::kLockedOut) return NotReadyError();
    ready = state_ == TokenState::kReady;
  }
  if (!ready) {
    RETURN_IF_ERROR(Recover(/*rate_limited=*/true));
  }
  const uint64_t epoch = pool_.epoch();
  absl::StatusOr<SessionLease> lease = pool_.Acquire(deadline);
  if (!lease.ok()) {
    std::optional<CK_RV> rv = CkRvOf(lease.status());
    if (rv && IsTokenFault(*rv)) EnterRecovery(epoch, CkrName(*rv));
  }
  return lease;
}

absl::Status Token::ReportFailure(SessionLease& lease, absl::string_view function, CK_RV rv) {
  return ReportFailure(lease, Pkcs11Error(function, rv, absl::StrCat("on token '", name(), "'")));
}

absl::Status Token::ReportFailure(SessionLease& lease, absl::Status status) {
  std::optional<CK_RV> ck_rv = CkRvOf(status);
  if (!ck_rv) return status;
  const CK_RV rv = *ck_rv;
  if (rv == CKR_OBJECT_HANDLE_INVALID || rv == CKR_KEY_HANDLE_INVALID) {
    // The key object changed under us; keys find themselves again.
    generation_.fetch_add(1, std::memory_order_acq_rel);
    return MarkRetryable(std::move(status));
  }
  if (rv == CKR_OPERATION_ACTIVE) {
    // The session is stuck in an unfinished operation: drop it alone.
    lease.MarkBroken();
    return status;
  }
  if (options_.pcsc && rv == CKR_GENERAL_ERROR) {
    // OpenSC 0.23 reports a card exchange cut off by the card's leaving
    // (SCARD_E_NOT_TRANSACTED) as CKR_GENERAL_ERROR, not CKR_DEVICE_REMOVED,
    // and until pcscd notices the removal (up to a polling interval) nothing
    // else says the card went. Re-opening finds out: the card is there and
    // the token is ready again, or it is gone and the reader watch marks it
    // absent. The caller may retry either way.
    status = AttachCkRv(MarkRetryable(absl::UnavailableError(status.message())), rv);
  } else if (!IsTokenFault(rv)) {
    return status;
  }
  lease.MarkBroken();
  if (rv == CKR_USER_NOT_LOGGED_IN) {
    std::lock_guard<std::mutex> lock(mutex_);
    force_login_ = true;
  }
  EnterRecovery(lease.epoch(), CkrName(rv));
  return status;
}

void Token::EnterRecovery(uint64_t epoch, std::string reason) {
  if (!pool_.Invalidate(epoch)) return;  // another caller already handled this fault
  generation_.fetch_add(1, std::memory_order_acq_rel);
  std::string message;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (state_ != TokenState::kReady) return;
    state_ = TokenState::kRecovering;
    detail_ = absl::StrCat("token '", name(), "' failed with ", reason, " and is being re-opened");
    message = detail_;
  }
  Log(LogLevel::kWarning, message);
}

absl::Status Token::Recover(bool rate_limited) {
  std::lock_guard<std::mutex> recovery_lock(recovery_mutex_);
  const absl::Time now = absl::Now();
  uint64_t absences;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    absences = absence_count_;
    if (state_ == TokenState::kReady || state_ == TokenState::kLockedOut) return NotReadyError();
    // Only failed attempts hold the next one back: a token that came back
    // is re-opened at once after its next fault, a dead one is not hammered.
    if (rate_limited && now - last_failed_recovery_ < options_.recovery_interval) {
      return MarkRetryable(absl::UnavailableError(absl::StrCat(
          detail_, "; next attempt in ",
          absl::FormatDuration(options_.recovery_interval - (now - last_failed_recovery_)))));
    }
    // Until this attempt succeeds, it counts as failed.
    last_failed_recovery_ = now;
  }

  absl::StatusOr<TokenDescription> found = FindOnModule();
  if (!found.ok()) {
    {
      // The card left during the attempt: it stays absent, for the reason
      // the reader watch gave (pcscd gone, card pulled), whatever failed.
      std::lock_guard<std::mutex> lock(mutex_);
      if (absence_count_ != absences) return NotReadyError();
    }
    if (absl::IsNotFound(found.status())) {
      if (absl::StatusOr<TokenDescription> other = FindAnotherCard(); other.ok()) {
        return SetAbsent(absl::StrCat(
            "token '", name(), "' is not present: the token in its place has serial ",
            other->serial, ", not ", PinnedSerial(),
            " as when it was first opened; it is not used and no PIN is presented to it (put "
            "the original back, or restart the appliance to take the new one)"));
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (state_ == TokenState::kAbsent && absent_by_watch_) {
          return MarkRetryable(absl::UnavailableError(detail_));
        }
      }
      return SetAbsent(
          absl::StrCat("token '", name(), "' is not present (", found.status().message(), ")"));
    }
    std::lock_guard<std::mutex> lock(mutex_);
    state_ = TokenState::kRecovering;
    detail_ = absl::StrCat("token '", name(), "' cannot be reached: ", found.status().message());
    return MarkRetryable(absl::UnavailableError(detail_));
  }
  module_->set_suspect(false);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    description_ = *found;
    if (pinned_serial_.empty()) pinned_serial_ = found->serial;
  }

  // A probe session: proves the token answers and logs it in. It stays open
  // in the pool, so the login is not dropped again with the last session.
  absl::StatusOr<CK_SESSION_HANDLE> probe = OpenSession();
  if (!probe.ok()) {
    if (CkRvOf(probe.status()) == CKR_DEVICE_ERROR) module_->set_suspect(true);
    std::lock_guard<std::mutex> lock(mutex_);
    if (state_ == TokenState::kLockedOut) return absl::FailedPreconditionError(detail_);
    // The card left during the attempt (as above).
    if (absence_count_ != absences) return NotReadyError();
    state_ = TokenState::kRecovering;
    detail_ =
        absl::StrCat("token '", name(), "' could not be re-opened: ", probe.status().message());
    return MarkRetryable(absl::UnavailableError(detail_));
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (absence_count_ != absences) {
      // The card left while it was being opened: the probe went with it
      // (forgotten, like every session of a card that left).
      return NotReadyError();
    }
  }
  // Sessions from before are of no use now, even those that looked healthy.
  pool_.Invalidate(pool_.epoch());
  pool_.Adopt(*probe);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  std::string serial;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    state_ = TokenState::kReady;
    absent_by_watch_ = false;
    detail_.clear();
    last_failed_recovery_ = absl::InfinitePast();
    serial = description_.serial;
  }
  Log(LogLevel::kInfo, absl::StrCat("token '", name(), "' is ready (serial ", serial, ")"));
  return absl::OkStatus();
}

absl::Status Token::SetAbsent(std::string detail) {
  bool changed;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (state_ == TokenState::kLockedOut) return NotReadyError();
    changed = detail != detail_;
    state_ = TokenState::kAbsent;
    absent_by_watch_ = false;
    detail_ = detail;
  }
  // Said once, not at every retry.
  if (changed) Log(LogLevel::kWarning, detail);
  return MarkRetryable(absl::UnavailableError(detail));
}

void Token::MarkAbsent(absl::string_view reason) {
  pool_.Forget();
  generation_.fetch_add(1, std::memory_order_acq_rel);
  std::string message;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++absence_count_;
    if (state_ == TokenState::kLockedOut) return;
    const bool was_absent = state_ == TokenState::kAbsent;
    state_ = TokenState::kAbsent;
    absent_by_watch_ = true;
    detail_ = absl::StrCat("token '", name(), "' is not present: ", reason);
    // Until a rescan finds the card again, callers fail at once instead of
    // each searching the module for it.
    last_failed_recovery_ = absl::Now();
    if (!was_absent) message = detail_;
  }
  if (!message.empty()) Log(LogLevel::kWarning, message);
}

TokenSelector Token::CurrentSelector() const {
  TokenSelector selector = options_.selector;
  std::lock_guard<std::mutex> lock(mutex_);
  if (!selector.serial && !pinned_serial_.empty()) selector.serial = pinned_serial_;
  return selector;
}

std::string Token::PinnedSerial() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return pinned_serial_;
}

absl::StatusOr<TokenDescription> Token::FindAnotherCard() {
  if (options_.selector.serial || PinnedSerial().empty()) {
    return absl::NotFoundError("the selector names the serial");
  }
  return FindToken(*module_, options_.selector);
}

absl::StatusOr<TokenDescription> Token::FindOnModule() {
  if (module_->suspect()) {
    (void)module_->Reinitialize(module_generation_.load());
    SyncWithModule();
  }
  const TokenSelector selector = CurrentSelector();
  absl::StatusOr<TokenDescription> found = FindToken(*module_, selector);
  std::optional<CK_RV> rv = CkRvOf(found.status());
  if (!found.ok() && rv &&
      (*rv == CKR_DEVICE_ERROR || *rv == CKR_GENERAL_ERROR ||
       *rv == CKR_CRYPTOKI_NOT_INITIALIZED)) {
    // The module itself failed, not one token: its connection (p11-kit's
    // client, a network HSM's library) has to be made again.
    Log(LogLevel::kWarning,
        absl::StrCat("PKCS#11 module ", module_->info().path, " failed (", CkrName(*rv),
                     ") while looking for token '", name(), "'; re-initialising it"));
    module_->set_suspect(true);
    RETURN_IF_ERROR(module_->Reinitialize(module_generation_.load()));
    SyncWithModule();
    found = FindToken(*module_, selector);
  }
  return found;
}

void Token::SyncWithModule() {
  const uint64_t current = module_->init_generation();
  uint64_t seen = module_generation_.load(std::memory_order_acquire);
  if (seen == current) return;
  if (!module_generation_.compare_exchange_strong(seen, current)) return;
  pool_.Forget();
  generation_.fetch_add(1, std::memory_order_acq_rel);
  std::lock_guard<std::mutex> lock(mutex_);
  if (state_ == TokenState::kReady) {
    state_ = TokenState::kRecovering;
    detail_ = absl::StrCat("token '", name(), "': its module was re-initialised");
  }
}

absl::Status Token::Rescan() { return Recover(/*rate_limited=*/false); }

void Token::ClearLockout() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (state_ != TokenState::kLockedOut) return;
  state_ = TokenState::kRecovering;
  operator_cleared_lockout_ = true;
  last_failed_recovery_ = absl::InfinitePast();
  detail_ = absl::StrCat("token '", name(), "': lockout cleared by an operator");
  Log(LogLevel::kInfo, detail_);
}

TokenStatus Token::Status() const {
  TokenStatus status;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    status.name = name();
    status.state = state_;
    status.detail = detail_;
    status.description = description_;
  }
  status.in_flight = pool_.in_flight();
  status.waiting = pool_.waiting();
  return status;
}

TokenState Token::state() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_;
}

}  // namespace signet
