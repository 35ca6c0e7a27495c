// What the provider hands OpenSSL as key data: a key on a token, or (when
// OpenSSL imports a certificate's key to compare it with ours) a public key
// alone. Private key material is never part of it.
#ifndef SIGNET_TOKENS_PROVIDER_PROVIDER_KEY_H_
#define SIGNET_TOKENS_PROVIDER_PROVIDER_KEY_H_

#include <memory>

#include "common/ossl_ptr.h"
#include "tokens/keys/algorithms.h"
#include "tokens/keys/token_key.h"

namespace signet::provider {

struct ProviderContext;

struct ProviderKey {
  ProviderContext* provider = nullptr;
  KeyType type = KeyType::kRsa;
  // Null for a public key OpenSSL imported.
  std::shared_ptr<TokenKey> token_key;
  // A software copy of the public key (default provider), for every public
  // operation: parameters, comparison, verification. For a key OpenSSL
  // imported with domain parameters only (an ECDH peer being built), it
  // holds just those until the public point is set.
  EvpPkeyPtr public_key;
  bool has_public_point = false;
};

}  // namespace signet::provider

#endif  // SIGNET_TOKENS_PROVIDER_PROVIDER_KEY_H_
