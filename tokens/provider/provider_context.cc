#include "tokens/provider/provider_context.h"

#include <cstdarg>
#include <string>

#include "tokens/provider/token_failure.h"

namespace signet::provider {
namespace {

void SetError(const ProviderContext* provider, int reason, const char* format, ...) {
  va_list args;
  va_start(args, format);
  provider->vset_error(provider->handle, static_cast<uint32_t>(reason), format, args);
  va_end(args);
}

}  // namespace

void RaiseError(const ProviderContext* provider, int reason, const char* message) {
  if (provider == nullptr || provider->new_error == nullptr || provider->vset_error == nullptr) {
    return;
  }
  provider->new_error(provider->handle);
  if (provider->set_error_debug != nullptr) {
    provider->set_error_debug(provider->handle, __FILE__, __LINE__, "signet provider");
  }
  SetError(provider, reason, "%s", message);
}

void RaiseError(const ProviderContext* provider, int reason, const absl::Status& status) {
  if (reason == kReasonTokenOperation) RecordTokenFailure(status);
  RaiseError(provider, reason, std::string(status.message()).c_str());
}

const OSSL_ITEM* ReasonStrings() {
  static const OSSL_ITEM kReasons[] = {
      {kReasonTokenOperation, const_cast<char*>("token operation failed")},
      {kReasonUnsupported, const_cast<char*>("not supported with token keys")},
      {kReasonBadArgument, const_cast<char*>("bad argument")},
      {kReasonKeyNotFound, const_cast<char*>("token key not found")},
      {kReasonNoPrivateKeyMaterial, const_cast<char*>("no private key")},
      {0, nullptr}};
  return kReasons;
}

}  // namespace signet::provider
