// Signet's token layer and OpenSSL provider in process, with no gRPC: the
// same CMS_sign + SMIME_write_CMS as libp11_signer.h, but with the EVP_PKEY
// of Signet's provider (Token, TokenKey, LoadTokenKey) in a library context
// of its own. Issue #20 compares the two at the same concurrency.
#ifndef SIGNET_TESTS_BENCH_SIGNET_PROVIDER_SIGNER_H_
#define SIGNET_TESTS_BENCH_SIGNET_PROVIDER_SIGNER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/ossl_ptr.h"
#include "tokens/provider/provider.h"

namespace signet::bench {

class SignetProviderSigner {
 public:
  // Loads the module (the installation named by SOFTHSM2_CONF), opens the
  // token with this label (`max_in_flight` sessions, the PIN from
  // pin_file) and takes its private key with key_label. verify_ecdsa is
  // the token's ECDSA signature check (architecture.md D19): signetd turns
  // it on for card tokens and where verify_ecdsa_signatures is set, and
  // leaves it off for a SoftHSM token like the bench's.
  static absl::StatusOr<std::unique_ptr<SignetProviderSigner>> Open(
      const std::string& module_path, const std::string& token_label, const std::string& pin_file,
      const std::string& key_label, const std::string& certificate_pem, int max_in_flight,
      bool verify_ecdsa);
  SignetProviderSigner(const SignetProviderSigner&) = delete;
  SignetProviderSigner& operator=(const SignetProviderSigner&) = delete;
  ~SignetProviderSigner();

  // multipart/signed S/MIME of `mail`; thread-safe.
  absl::StatusOr<std::string> Sign(const std::string& mail) const;

 private:
  SignetProviderSigner() = default;

  OSSL_LIB_CTX* libctx_ = nullptr;
  std::shared_ptr<provider::KeyResolver> resolver_;
  std::unique_ptr<provider::LoadedProviders> providers_;
  EvpPkeyPtr key_;
  X509Ptr certificate_;
};

}  // namespace signet::bench

#endif  // SIGNET_TESTS_BENCH_SIGNET_PROVIDER_SIGNER_H_
