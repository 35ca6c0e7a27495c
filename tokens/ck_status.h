// PKCS#11 return values as absl::Status: the CKR_* name in the message and as
// a payload, a status code from one mapping, and a retryable marker.
#ifndef SIGNET_TOKENS_CK_STATUS_H_
#define SIGNET_TOKENS_CK_STATUS_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "tokens/pkcs11.h"

namespace signet {

// "CKR_PIN_INCORRECT", or "CKR_0x000001a0" for a value without a name.
std::string CkrName(CK_RV rv);

// A token fault after which the session (and possibly every session and the
// login) is gone: the token layer drops the session, re-opens the token and
// finds its keys again before the next use.
bool IsTokenFault(CK_RV rv);

// The token rejected the PIN (wrong, locked, expired, or malformed): it must
// never be presented again automatically.
bool IsPinRejection(CK_RV rv);

// Status for a failed PKCS#11 call: "C_Sign on token 'bank': CKR_DEVICE_ERROR".
// Token faults are UNAVAILABLE and marked retryable.
absl::Status Pkcs11Error(absl::string_view function, CK_RV rv, absl::string_view context = {});

// Attaches `rv` to a status built elsewhere (for CkRvOf and the gRPC edge).
absl::Status AttachCkRv(absl::Status status, CK_RV rv);

// The CK_RV a status carries, if it came from a token.
std::optional<CK_RV> CkRvOf(const absl::Status& status);

// Whether the caller may try the same request again and expect it to work.
bool IsRetryable(const absl::Status& status);
absl::Status MarkRetryable(absl::Status status);

}  // namespace signet

#endif  // SIGNET_TOKENS_CK_STATUS_H_
