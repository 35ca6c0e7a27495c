// Key management for RSA and EC keys on tokens.
#ifndef SIGNET_TOKENS_PROVIDER_KEYMGMT_H_
#define SIGNET_TOKENS_PROVIDER_KEYMGMT_H_

#include <openssl/core.h>

namespace signet::provider {

// The import parameter that names a token key (resolved by the provider's
// KeyResolver). A UTF-8 string.
inline constexpr char kKeyReferenceParam[] = "signet-key-reference";

const OSSL_DISPATCH* RsaKeymgmtDispatch();
const OSSL_DISPATCH* EcKeymgmtDispatch();

}  // namespace signet::provider

#endif  // SIGNET_TOKENS_PROVIDER_KEYMGMT_H_
