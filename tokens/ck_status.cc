#include "tokens/ck_status.h"

#include <array>
#include <cstdint>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace signet {
namespace {

constexpr char kCkrPayload[] = "type.signet.dev/signet.ckr";
constexpr char kRetryablePayload[] = "type.signet.dev/signet.retryable";

#define SIGNET_CKR(name) \
  std::pair<CK_RV, const char*> { name, #name }
constexpr auto kCkrNames = std::to_array<std::pair<CK_RV, const char*>>({
    SIGNET_CKR(CKR_OK),
    SIGNET_CKR(CKR_CANCEL),
    SIGNET_CKR(CKR_HOST_MEMORY),
    SIGNET_CKR(CKR_SLOT_ID_INVALID),
    SIGNET_CKR(CKR_GENERAL_ERROR),
    SIGNET_CKR(CKR_FUNCTION_FAILED),
    SIGNET_CKR(CKR_ARGUMENTS_BAD),
    SIGNET_CKR(CKR_NO_EVENT),
    SIGNET_CKR(CKR_NEED_TO_CREATE_THREADS),
    SIGNET_CKR(CKR_CANT_LOCK),
    SIGNET_CKR(CKR_ATTRIBUTE_READ_ONLY),
    SIGNET_CKR(CKR_ATTRIBUTE_SENSITIVE),
    SIGNET_CKR(CKR_ATTRIBUTE_TYPE_INVALID),
    SIGNET_CKR(CKR_ATTRIBUTE_VALUE_INVALID),
    SIGNET_CKR(CKR_ACTION_PROHIBITED),
    SIGNET_CKR(CKR_DATA_INVALID),
    SIGNET_CKR(CKR_DATA_LEN_RANGE),
    SIGNET_CKR(CKR_DEVICE_ERROR),
    SIGNET_CKR(CKR_DEVICE_MEMORY),
    SIGNET_CKR(CKR_DEVICE_REMOVED),
    SIGNET_CKR(CKR_ENCRYPTED_DATA_INVALID),
    SIGNET_CKR(CKR_ENCRYPTED_DATA_LEN_RANGE),
    SIGNET_CKR(CKR_FUNCTION_CANCELED),
    SIGNET_CKR(CKR_FUNCTION_NOT_PARALLEL),
    SIGNET_CKR(CKR_FUNCTION_NOT_SUPPORTED),
    SIGNET_CKR(CKR_KEY_HANDLE_INVALID),
    SIGNET_CKR(CKR_KEY_SIZE_RANGE),
    SIGNET_CKR(CKR_KEY_TYPE_INCONSISTENT),
    SIGNET_CKR(CKR_KEY_NOT_NEEDED),
    SIGNET_CKR(CKR_KEY_CHANGED),
    SIGNET_CKR(CKR_KEY_NEEDED),
    SIGNET_CKR(CKR_KEY_INDIGESTIBLE),
    SIGNET_CKR(CKR_KEY_FUNCTION_NOT_PERMITTED),
    SIGNET_CKR(CKR_KEY_NOT_WRAPPABLE),
    SIGNET_CKR(CKR_KEY_UNEXTRACTABLE),
    SIGNET_CKR(CKR_MECHANISM_INVALID),
    SIGNET_CKR(CKR_MECHANISM_PARAM_INVALID),
    SIGNET_CKR(CKR_OBJECT_HANDLE_INVALID),
    SIGNET_CKR(CKR_OPERATION_ACTIVE),
    SIGNET_CKR(CKR_OPERATION_NOT_INITIALIZED),
    SIGNET_CKR(CKR_PIN_INCORRECT),
    SIGNET_CKR(CKR_PIN_INVALID),
    SIGNET_CKR(CKR_PIN_LEN_RANGE),
    SIGNET_CKR(CKR_PIN_EXPIRED),
    SIGNET_CKR(CKR_PIN_LOCKED),
    SIGNET_CKR(CKR_SESSION_CLOSED),
    SIGNET_CKR(CKR_SESSION_COUNT),
    SIGNET_CKR(CKR_SESSION_HANDLE_INVALID),
    SIGNET_CKR(CKR_SESSION_PARALLEL_NOT_SUPPORTED),
    SIGNET_CKR(CKR_SESSION_READ_ONLY),
    SIGNET_CKR(CKR_SESSION_EXISTS),
    SIGNET_CKR(CKR_SESSION_READ_ONLY_EXISTS),
    SIGNET_CKR(CKR_SESSION_READ_WRITE_SO_EXISTS),
    SIGNET_CKR(CKR_SIGNATURE_INVALID),
    SIGNET_CKR(CKR_SIGNATURE_LEN_RANGE),
    SIGNET_CKR(CKR_TEMPLATE_INCOMPLETE),
    SIGNET_CKR(CKR_TEMPLATE_INCONSISTENT),
    SIGNET_CKR(CKR_TOKEN_NOT_PRESENT),
    SIGNET_CKR(CKR_TOKEN_NOT_RECOGNIZED),
    SIGNET_CKR(CKR_TOKEN_WRITE_PROTECTED),
    SIGNET_CKR(CKR_UNWRAPPING_KEY_HANDLE_INVALID),
    SIGNET_CKR(CKR_UNWRAPPING_KEY_SIZE_RANGE),
    SIGNET_CKR(CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT),
    SIGNET_CKR(CKR_USER_ALREADY_LOGGED_IN),
    SIGNET_CKR(CKR_USER_NOT_LOGGED_IN),
    SIGNET_CKR(CKR_USER_PIN_NOT_INITIALIZED),
    SIGNET_CKR(CKR_USER_TYPE_INVALID),
    SIGNET_CKR(CKR_USER_ANOTHER_ALREADY_LOGGED_IN),
    SIGNET_CKR(CKR_USER_TOO_MANY_TYPES),
    SIGNET_CKR(CKR_WRAPPED_KEY_INVALID),
    SIGNET_CKR(CKR_WRAPPED_KEY_LEN_RANGE),
    SIGNET_CKR(CKR_WRAPPING_KEY_HANDLE_INVALID),
    SIGNET_CKR(CKR_WRAPPING_KEY_SIZE_RANGE),
    SIGNET_CKR(CKR_WRAPPING_KEY_TYPE_INCONSISTENT),
    SIGNET_CKR(CKR_RANDOM_SEED_NOT_SUPPORTED),
    SIGNET_CKR(CKR_RANDOM_NO_RNG),
    SIGNET_CKR(CKR_DOMAIN_PARAMS_INVALID),
    SIGNET_CKR(CKR_CURVE_NOT_SUPPORTED),
    SIGNET_CKR(CKR_BUFFER_TOO_SMALL),
    SIGNET_CKR(CKR_SAVED_STATE_INVALID),
    SIGNET_CKR(CKR_INFORMATION_SENSITIVE),
    SIGNET_CKR(CKR_STATE_UNSAVEABLE),
    SIGNET_CKR(CKR_CRYPTOKI_NOT_INITIALIZED),
    SIGNET_CKR(CKR_CRYPTOKI_ALREADY_INITIALIZED),
    SIGNET_CKR(CKR_MUTEX_BAD),
    SIGNET_CKR(CKR_MUTEX_NOT_LOCKED),
    SIGNET_CKR(CKR_NEW_PIN_MODE),
    SIGNET_CKR(CKR_NEXT_OTP),
    SIGNET_CKR(CKR_EXCEEDED_MAX_ITERATIONS),
    SIGNET_CKR(CKR_FIPS_SELF_TEST_FAILED),
    SIGNET_CKR(CKR_LIBRARY_LOAD_FAILED),
    SIGNET_CKR(CKR_PIN_TOO_WEAK),
    SIGNET_CKR(CKR_PUBLIC_KEY_INVALID),
    SIGNET_CKR(CKR_FUNCTION_REJECTED),
    SIGNET_CKR(CKR_VENDOR_DEFINED),
});
#undef SIGNET_CKR

absl::StatusCode CodeFor(CK_RV rv) {
  if (IsTokenFault(rv)) return absl::StatusCode::kUnavailable;
  switch (rv) {
    case CKR_PIN_INCORRECT:
    case CKR_PIN_LOCKED:
    case CKR_PIN_EXPIRED:
    case CKR_PIN_INVALID:
    case CKR_PIN_LEN_RANGE:
    case CKR_USER_PIN_NOT_INITIALIZED:
    case CKR_OPERATION_ACTIVE:
      return absl::StatusCode::kFailedPrecondition;
    case CKR_ARGUMENTS_BAD:
    case CKR_DATA_INVALID:
    case CKR_DATA_LEN_RANGE:
    case CKR_ENCRYPTED_DATA_INVALID:
    case CKR_ENCRYPTED_DATA_LEN_RANGE:
    case CKR_ATTRIBUTE_VALUE_INVALID:
    case CKR_TEMPLATE_INCONSISTENT:
    case CKR_TEMPLATE_INCOMPLETE:
    case CKR_KEY_SIZE_RANGE:
    case CKR_DOMAIN_PARAMS_INVALID:
    case CKR_PUBLIC_KEY_INVALID:
      return absl::StatusCode::kInvalidArgument;
    case CKR_KEY_FUNCTION_NOT_PERMITTED:
    case CKR_ATTRIBUTE_SENSITIVE:
    case CKR_KEY_UNEXTRACTABLE:
    case CKR_ACTION_PROHIBITED:
    case CKR_FUNCTION_REJECTED:
      return absl::StatusCode::kPermissionDenied;
    case CKR_MECHANISM_INVALID:
    case CKR_MECHANISM_PARAM_INVALID:
    case CKR_FUNCTION_NOT_SUPPORTED:
    case CKR_CURVE_NOT_SUPPORTED:
    case CKR_KEY_TYPE_INCONSISTENT:
      return absl::StatusCode::kUnimplemented;
    case CKR_HOST_MEMORY:
    case CKR_DEVICE_MEMORY:
    case CKR_SESSION_COUNT:
      return absl::StatusCode::kResourceExhausted;
    default:
      return absl::StatusCode::kInternal;
  }
}

}  // namespace

std::string CkrName(CK_RV rv) {
  for (const auto& [value, name] : kCkrNames) {
    if (value == rv) return name;
  }
  return absl::StrFormat("CKR_0x%08x", static_cast<uint64_t>(rv));
}

bool IsTokenFault(CK_RV rv) {
  switch (rv) {
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SESSION_CLOSED:
    case CKR_DEVICE_ERROR:
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_TOKEN_NOT_RECOGNIZED:
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_CRYPTOKI_NOT_INITIALIZED:
      return true;
    default:
      return false;
  }
}

bool IsPinRejection(CK_RV rv) {
  // PIN_INVALID and PIN_LEN_RANGE: the configured PIN cannot be right either,
  // and presenting it again may count as another failed attempt.
  return rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED || rv == CKR_PIN_EXPIRED ||
         rv == CKR_PIN_INVALID || rv == CKR_PIN_LEN_RANGE;
}

absl::Status Pkcs11Error(absl::string_view function, CK_RV rv, absl::string_view context) {
  std::string message =
      absl::StrCat(function, context.empty() ? "" : " ", context, ": ", CkrName(rv));
  absl::Status status = AttachCkRv(absl::Status(CodeFor(rv), message), rv);
  if (IsTokenFault(rv)) status = MarkRetryable(std::move(status));
  return status;
}

absl::Status AttachCkRv(absl::Status status, CK_RV rv) {
  if (!status.ok()) {
    status.SetPayload(kCkrPayload, absl::Cord(absl::StrCat(static_cast<uint64_t>(rv))));
  }
  return status;
}

std::optional<CK_RV> CkRvOf(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kCkrPayload);
  if (!payload) return std::nullopt;
  uint64_t value = 0;
  if (!absl::SimpleAtoi(std::string(*payload), &value)) return std::nullopt;
  return static_cast<CK_RV>(value);
}

bool IsRetryable(const absl::Status& status) {
  return status.GetPayload(kRetryablePayload).has_value();
}

absl::Status MarkRetryable(absl::Status status) {
  if (!status.ok()) status.SetPayload(kRetryablePayload, absl::Cord("1"));
  return status;
}

}  // namespace signet
