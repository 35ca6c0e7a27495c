// An OSSL_STORE loader for RFC 7512 pkcs11: URIs, so that everything in
// OpenSSL that opens keys by URI (the openssl command line's -inkey, -key,
// -signer; OSSL_STORE_open) reaches token keys through the provider's
// KeyResolver.
//
// One URI is one object. Which one its type attribute says, else what the
// caller expects (OSSL_STORE_expect), else the private key:
//   type=private  the key, by reference (it stays on the token)
//   type=public   its public key, as a SubjectPublicKeyInfo
//   type=cert     the certificate stored beside the key (same CKA_ID)
#ifndef SIGNET_TOKENS_PROVIDER_STORE_H_
#define SIGNET_TOKENS_PROVIDER_STORE_H_

#include <openssl/core.h>

namespace signet::provider {

inline constexpr char kPkcs11Scheme[] = "pkcs11";

const OSSL_DISPATCH* StoreDispatch();

}  // namespace signet::provider

#endif  // SIGNET_TOKENS_PROVIDER_STORE_H_
