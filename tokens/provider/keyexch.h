// ECDH with token keys, with the optional X9.63 KDF that CMS key agreement
// (KeyAgreeRecipientInfo) asks for. The shared secret comes from the token;
// the KDF, which needs no key, runs in OpenSSL's default provider.
#ifndef SIGNET_TOKENS_PROVIDER_KEYEXCH_H_
#define SIGNET_TOKENS_PROVIDER_KEYEXCH_H_

#include <openssl/core.h>

namespace signet::provider {

const OSSL_DISPATCH* EcdhKeyExchangeDispatch();

}  // namespace signet::provider

#endif  // SIGNET_TOKENS_PROVIDER_KEYEXCH_H_
