// OpenSSL's thread-local error queue, drained into a Status so that it is
// neither lost nor left behind for the next, unrelated operation.
#ifndef SIGNET_COMMON_OPENSSL_ERROR_H_
#define SIGNET_COMMON_OPENSSL_ERROR_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace signet {

// `code` "<what>: <OpenSSL reasons>", each with the text a provider
// attached, emptying the queue.
absl::Status OpenSslError(absl::StatusCode code, absl::string_view what);
// The same as INTERNAL.
inline absl::Status OpenSslError(absl::string_view what) {
  return OpenSslError(absl::StatusCode::kInternal, what);
}

}  // namespace signet

#endif  // SIGNET_COMMON_OPENSSL_ERROR_H_
