// The last token failure the provider met on this thread, as the token layer
// reported it (code, CKR_* payload, retryable mark).
//
// OpenSSL's error queue carries only text, so an application calling
// OpenSSL (CMS_sign, CMS_decrypt) could not otherwise tell a token that is
// absent or locked out, which a caller should hear about as such, from a
// ciphertext the token rejected. OpenSSL calls the provider synchronously on
// the caller's thread, so a thread-local slot suffices.
#ifndef SIGNET_TOKENS_PROVIDER_TOKEN_FAILURE_H_
#define SIGNET_TOKENS_PROVIDER_TOKEN_FAILURE_H_

#include <optional>

#include "absl/status/status.h"

namespace signet::provider {

// Called by the provider where a token operation failed.
void RecordTokenFailure(const absl::Status& status);

// The failure recorded on this thread since the last call, and clears it.
// Call it once before an OpenSSL operation (to drop a stale one) and again
// after the operation failed.
std::optional<absl::Status> TakeTokenFailure();

}  // namespace signet::provider

#endif  // SIGNET_TOKENS_PROVIDER_TOKEN_FAILURE_H_
