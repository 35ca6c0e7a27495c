// Early returns on error, so that the error path of a function is one line:
//   RETURN_IF_ERROR(Check(request));
//   ASSIGN_OR_RETURN(std::string der, Encode(certificate));
//   ASSIGN_OR_RETURN(auto key, keys.Get(name));
// The expression is evaluated once. ASSIGN_OR_RETURN declares (or assigns)
// its left-hand side in the enclosing scope, so it cannot be the body of an
// unbraced if.
#ifndef SIGNET_COMMON_STATUS_MACROS_H_
#define SIGNET_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace signet::status_internal {

inline const absl::Status& StatusOf(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& result) {
  return result.status();
}

}  // namespace signet::status_internal

#define SIGNET_STATUS_CONCAT_INNER(a, b) a##b
#define SIGNET_STATUS_CONCAT(a, b) SIGNET_STATUS_CONCAT_INNER(a, b)

// Returns the status of `expr` (an absl::Status or StatusOr) if it is not OK.
// The variable is numbered so that a RETURN_IF_ERROR inside a lambda in
// another one's expression does not shadow it.
#define RETURN_IF_ERROR(expr) \
  SIGNET_RETURN_IF_ERROR_IMPL(SIGNET_STATUS_CONCAT(signet_status_, __COUNTER__), expr)

#define SIGNET_RETURN_IF_ERROR_IMPL(status, expr)                                                \
  do {                                                                                           \
    if (const ::absl::Status status = ::signet::status_internal::StatusOf(expr); !status.ok()) { \
      return status;                                                                             \
    }                                                                                            \
  } while (false)

// `lhs = std::move(*expr)` if the StatusOr `expr` holds a value, else
// returns its status.
#define ASSIGN_OR_RETURN(lhs, expr) \
  SIGNET_ASSIGN_OR_RETURN_IMPL(SIGNET_STATUS_CONCAT(signet_status_or_, __COUNTER__), lhs, expr)

#define SIGNET_ASSIGN_OR_RETURN_IMPL(result, lhs, expr) \
  auto result = (expr);                                 \
  if (!result.ok()) return std::move(result).status();  \
  lhs = std::move(*result)

#endif  // SIGNET_COMMON_STATUS_MACROS_H_
