// Type-checked OpenSSL dispatch tables.
//
// Each entry names the OpenSSL function type it must have:
//   Dispatch<OSSL_FUNC_keymgmt_new_fn>(OSSL_FUNC_KEYMGMT_NEW, &KeymgmtNew)
// so a function with the wrong signature does not compile, and the cast to
// OpenSSL's generic function pointer happens only here. DispatchTable
// appends the {0, NULL} terminator itself, so no table can lack it.
#ifndef SIGNET_TOKENS_PROVIDER_DISPATCH_H_
#define SIGNET_TOKENS_PROVIDER_DISPATCH_H_

#include <openssl/core.h>
#include <openssl/core_dispatch.h>

#include <array>
#include <cstddef>

namespace signet::provider {

template <typename Fn>
OSSL_DISPATCH Dispatch(int function_id, Fn* function) {
  return OSSL_DISPATCH{function_id, reinterpret_cast<void (*)(void)>(function)};
}

template <typename... Entries>
std::array<OSSL_DISPATCH, sizeof...(Entries) + 1> DispatchTable(Entries... entries) {
  return {entries..., OSSL_DISPATCH{0, nullptr}};
}

// An OSSL_ALGORITHM list with its {NULL, NULL, NULL, NULL} terminator.
template <typename... Algorithms>
std::array<OSSL_ALGORITHM, sizeof...(Algorithms) + 1> AlgorithmTable(Algorithms... algorithms) {
  return {algorithms..., OSSL_ALGORITHM{nullptr, nullptr, nullptr, nullptr}};
}

}  // namespace signet::provider

#endif  // SIGNET_TOKENS_PROVIDER_DISPATCH_H_
