// The in-process peer: what a developer would write instead of Signet —
// libp11 hands OpenSSL an EVP_PKEY for the token key, and OpenSSL's own
// CMS_sign makes an S/MIME detached signature, in the caller's process.
#ifndef SIGNET_TESTS_BENCH_LIBP11_SIGNER_H_
#define SIGNET_TESTS_BENCH_LIBP11_SIGNER_H_

#include <libp11.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/ossl_ptr.h"

namespace signet::bench {

class Libp11Signer {
 public:
  // Loads the module through libp11, logs in to the token with this label
  // and takes the private key with key_label; certificate_pem is its
  // certificate.
  static absl::StatusOr<std::unique_ptr<Libp11Signer>> Open(const std::string& module_path,
                                                            const std::string& token_label,
                                                            const std::string& pin,
                                                            const std::string& key_label,
                                                            const std::string& certificate_pem);
  Libp11Signer(const Libp11Signer&) = delete;
  Libp11Signer& operator=(const Libp11Signer&) = delete;
  ~Libp11Signer();

  // multipart/signed S/MIME of `mail` (CMS_sign, SMIME_write_CMS);
  // thread-safe.
  absl::StatusOr<std::string> Sign(const std::string& mail) const;

 private:
  Libp11Signer() = default;

  PKCS11_CTX* ctx_ = nullptr;
  PKCS11_SLOT* slots_ = nullptr;
  unsigned int slot_count_ = 0;
  bool loaded_ = false;
  EvpPkeyPtr key_;
  X509Ptr certificate_;
};

}  // namespace signet::bench

#endif  // SIGNET_TESTS_BENCH_LIBP11_SIGNER_H_
