// What signs the audit log's checkpoints: in the daemon a key on a token
// (through Signet's OpenSSL provider), in tests a software key. The log only
// needs signatures and the public key, so it never sees the token layer.
#ifndef SIGNET_APPLIANCE_AUDIT_CHECKPOINT_SIGNER_H_
#define SIGNET_APPLIANCE_AUDIT_CHECKPOINT_SIGNER_H_

#include <openssl/evp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace signet::audit {

class CheckpointSigner {
 public:
  virtual ~CheckpointSigner() = default;

  // A signature over `statement` with SHA-256: PKCS#1 v1.5 for an RSA key,
  // DER ECDSA for an EC key (what AuditPublicKey::Verify checks). The log
  // calls it from one thread at a time.
  virtual absl::StatusOr<std::string> Sign(absl::string_view statement) = 0;

  // The key's SubjectPublicKeyInfo, DER.
  virtual std::string PublicKeyDer() const = 0;
};

// A signer with `key` (RSA or EC), shared, not taken: the caller keeps its
// own reference. `libctx` and `propq` are where SHA-256 and the signature
// are fetched; for a token key, the library context that holds Signet's
// provider.
absl::StatusOr<std::unique_ptr<CheckpointSigner>> NewEvpCheckpointSigner(
    EVP_PKEY* key, OSSL_LIB_CTX* libctx = nullptr, const char* propq = nullptr);

}  // namespace signet::audit

#endif  // SIGNET_APPLIANCE_AUDIT_CHECKPOINT_SIGNER_H_
