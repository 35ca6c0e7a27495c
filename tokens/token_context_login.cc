// Token::LoginForOperation: the per-operation login that keys with
// CKA_ALWAYS_AUTHENTICATE demand (PKCS#11 v2.40 section 4.9, and C_Login with
// CKU_CONTEXT_SPECIFIC): the PIV digital signature key (9C) and the like.
// Part of class Token, kept in its own file.
//
// Locking: a context-specific login changes no application-wide state. It
// authorizes only the operation just initialised on that one session, which
// the caller's lease holds exclusively, so for PKCS#11 itself no lock would
// be needed. It still takes login_mutex_, for the PIN: the check that the
// token is not locked out and the presentation of the PIN must be one step
// with respect to every other presenter (LoginIfNeeded takes the same
// mutex). Otherwise two operations that read a wrong PIN at the same moment
// would both present it, and the token would count two failures where the
// rule allows one. The cost is that context-specific logins on one token
// take turns; each is a PIN check on the token (a smartcard VERIFY), and a
// token whose keys need it is a smartcard that runs one operation at a time
// anyway.
#include <mutex>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "tokens/token.h"

namespace signet {

absl::Status Token::LoginForOperation(SessionLease& lease) {
  // Any failure leaves the operation that C_SignInit or C_DecryptInit
  // started pending on the session: it must not go back to the pool.
  auto fail = [&lease](absl::Status status) {
    lease.MarkBroken();
    return status;
  };
  const std::string context = absl::StrCat("(CKU_CONTEXT_SPECIFIC) on token '", name(), "'");

  std::lock_guard<std::mutex> login_lock(login_mutex_);
  CK_SLOT_ID slot;
  bool operator_cleared = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // Locked out by an earlier rejection, perhaps of this very PIN by a
    // concurrent operation: it is not presented again.
    if (state_ == TokenState::kLockedOut) return fail(NotReadyError());
    slot = description_.slot;
    operator_cleared = operator_cleared_lockout_;
  }

  // The same warnings as before a login: past a wrong PIN elsewhere, one more
  // try could lock the token for good, and that is an operator's decision.
  CK_TOKEN_INFO info{};
  CK_RV rv = SIGNET_P11(*module_, GetTokenInfo, slot, &info);
  if (rv != CKR_OK) {
    return fail(Pkcs11Error("C_GetTokenInfo", rv, absl::StrCat("on token '", name(), "'")));
  }
  if (info.flags & CKF_USER_PIN_LOCKED) {
    return fail(LockOut("reports its user PIN locked (CKF_USER_PIN_LOCKED)", std::nullopt));
  }
  if (!operator_cleared && (info.flags & CKF_USER_PIN_FINAL_TRY)) {
    return fail(
        LockOut("reports that one more wrong PIN locks it (CKF_USER_PIN_FINAL_TRY)", std::nullopt));
  }
  if (!operator_cleared && (info.flags & CKF_USER_PIN_COUNT_LOW)) {
    return fail(LockOut("reports failed PIN attempts (CKF_USER_PIN_COUNT_LOW)", std::nullopt));
  }

  if (options_.pin_source == nullptr) {
    if (!(info.flags & CKF_PROTECTED_AUTHENTICATION_PATH)) {
      return fail(absl::FailedPreconditionError(absl::StrCat(
          "token '", name(),
          "' has a key that needs the PIN before every operation (CKA_ALWAYS_AUTHENTICATE), "
          "but the token has no PIN source and no protected authentication path")));
    }
    // A PIN pad: the holder enters the PIN there, for this operation.
    rv = SIGNET_P11(*module_, Login, lease.handle(), CKU_CONTEXT_SPECIFIC, nullptr, 0);
  } else {
    absl::StatusOr<SecretString> pin = options_.pin_source->Read();
    if (!pin.ok()) {
      return fail(absl::FailedPreconditionError(
          absl::StrCat("cannot read the PIN of token '", name(), "' from ",
                       options_.pin_source->Describe(), ": ", pin.status().message())));
    }
    rv = SIGNET_P11(*module_, Login, lease.handle(), CKU_CONTEXT_SPECIFIC,
                    const_cast<CK_UTF8CHAR*>(pin->ExposeForPkcs11()),
                    static_cast<CK_ULONG>(pin->size()));
    // `pin` wipes itself when it goes out of scope, here.
  }
  if (rv == CKR_OK) {
    std::lock_guard<std::mutex> lock(mutex_);
    // The token took the PIN: the operator's one attempt is used up.
    operator_cleared_lockout_ = false;
    return absl::OkStatus();
  }
  if (IsPinRejection(rv)) {
    return fail(LockOut(
        absl::StrCat("rejected the PIN from ",
                     options_.pin_source ? options_.pin_source->Describe()
                                         : std::string("its protected path"),
                     " before an operation with a CKA_ALWAYS_AUTHENTICATE key (", CkrName(rv), ")"),
        rv));
  }
  return fail(Pkcs11Error("C_Login", rv, context));
}

}  // namespace signet
