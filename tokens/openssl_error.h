// OpenSSL's thread-local error queue, drained into a Status so that it is
// neither lost nor left behind for the next, unrelated operation.
#ifndef SIGNET_TOKENS_OPENSSL_ERROR_H_
#define SIGNET_TOKENS_OPENSSL_ERROR_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace signet {

// INTERNAL status "<what>: <OpenSSL reasons>", emptying the queue.
absl::Status OpenSslError(absl::string_view what);

}  // namespace signet

#endif  // SIGNET_TOKENS_OPENSSL_ERROR_H_
