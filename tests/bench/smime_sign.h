// The detached S/MIME signature both in-process peers of the benchmark make
// (libp11_signer.h, signet_provider_signer.h): the same OpenSSL calls, so
// that they differ only in whose EVP_PKEY signs.
#ifndef SIGNET_TESTS_BENCH_SMIME_SIGN_H_
#define SIGNET_TESTS_BENCH_SMIME_SIGN_H_

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string>

#include "absl/status/statusor.h"

namespace signet::bench {

// CMS_sign_ex (detached, streamed) of `mail` with `key` in `libctx`
// (nullptr: the default context), written out by SMIME_write_CMS.
absl::StatusOr<std::string> SignSmimeDetached(X509* certificate, EVP_PKEY* key,
                                              const std::string& mail,
                                              OSSL_LIB_CTX* libctx = nullptr);

}  // namespace signet::bench

#endif  // SIGNET_TESTS_BENCH_SMIME_SIGN_H_
