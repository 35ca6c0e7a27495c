// Signatures with token keys: RSA PKCS#1 v1.5, RSA-PSS and ECDSA, on a
// digest (EVP_PKEY_sign) or on a message (EVP_DigestSign*, as CMS does).
// Only the private-key step runs on the token; hashing and every public-key
// operation (verification) run in OpenSSL's default provider.
#ifndef SIGNET_TOKENS_PROVIDER_SIGNATURE_H_
#define SIGNET_TOKENS_PROVIDER_SIGNATURE_H_

#include <openssl/core.h>

namespace signet::provider {

const OSSL_DISPATCH* RsaSignatureDispatch();
const OSSL_DISPATCH* EcdsaSignatureDispatch();

}  // namespace signet::provider

#endif  // SIGNET_TOKENS_PROVIDER_SIGNATURE_H_
