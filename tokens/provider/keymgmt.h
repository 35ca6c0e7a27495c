// Key management for RSA and EC keys on tokens.
#ifndef SIGNET_TOKENS_PROVIDER_KEYMGMT_H_
#define SIGNET_TOKENS_PROVIDER_KEYMGMT_H_

#include <openssl/core.h>

#include <cstdint>

namespace signet::provider {

struct ProviderKey;

// The import parameter that names a token key (resolved by the provider's
// KeyResolver). A UTF-8 string.
inline constexpr char kKeyReferenceParam[] = "signet-key-reference";

// How the store (store.cc) hands a token key to the keymgmt through
// OSSL_OBJECT_PARAM_REFERENCE: the bytes of this struct, naming a key the
// store keeps alive while OpenSSL loads it. The keymgmt's load makes its own
// copy, so a reference OpenSSL never loads costs nothing. The tag catches a
// reference that is not ours.
struct KeyReference {
  static constexpr uint64_t kTag = 0x5349474e45544b31;  // "SIGNETK1"
  uint64_t tag = kTag;
  const ProviderKey* key = nullptr;
};

const OSSL_DISPATCH* RsaKeymgmtDispatch();
const OSSL_DISPATCH* EcKeymgmtDispatch();

}  // namespace signet::provider

#endif  // SIGNET_TOKENS_PROVIDER_KEYMGMT_H_
