// RSA decryption with token keys (PKCS#1 v1.5 and OAEP), as CMS key
// transport needs; encryption, a public-key operation, runs in software.
#ifndef SIGNET_TOKENS_PROVIDER_ASYM_CIPHER_H_
#define SIGNET_TOKENS_PROVIDER_ASYM_CIPHER_H_

#include <openssl/core.h>

namespace signet::provider {

const OSSL_DISPATCH* RsaAsymCipherDispatch();

}  // namespace signet::provider

#endif  // SIGNET_TOKENS_PROVIDER_ASYM_CIPHER_H_
