// An exception turned into a status, for the places where one must not go
// further: a gRPC reactor callback (gRPC swallows it, and the call is then
// never finished: the client hangs and shutdown waits for it forever) and a
// worker thread (std::terminate). The one exception expected here is
// std::bad_alloc, when the host or an address-space limit runs out of
// memory; the call then gets a retryable RESOURCE_EXHAUSTED.
#ifndef SIGNET_APPLIANCE_SERVER_EXCEPTION_STATUS_H_
#define SIGNET_APPLIANCE_SERVER_EXCEPTION_STATUS_H_

#include <exception>
#include <new>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace signet::server {

// Made at start-up: a status with a message is allocated, and copying one
// is not, so handling an out-of-memory error needs no memory.
inline const absl::Status kOutOfMemoryStatus =
    absl::ResourceExhaustedError("signetd ran out of memory for this call; retry later");
inline const absl::Status kUnexpectedExceptionStatus =
    absl::InternalError("signetd failed unexpectedly on this call");

// The status for the exception being handled (call inside a catch block).
inline absl::Status StatusOfCurrentException() noexcept {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    return kOutOfMemoryStatus;
  } catch (...) {
    return kUnexpectedExceptionStatus;
  }
}

// Runs `work`; an exception becomes its status.
template <typename Work>
absl::Status RunCatching(Work&& work) noexcept {
  try {
    std::forward<Work>(work)();
    return absl::OkStatus();
  } catch (...) {
    return StatusOfCurrentException();
  }
}

// Runs `work` (which returns a StatusOr<T> or a Status); an exception
// becomes its status.
template <typename Result, typename Work>
Result ResultCatching(Work&& work) noexcept {
  try {
    return std::forward<Work>(work)();
  } catch (...) {
    return StatusOfCurrentException();
  }
}

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_EXCEPTION_STATUS_H_
