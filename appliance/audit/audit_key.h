// The audit key's public half, as a verifier gets it: the operator's copy of
// the public key or certificate, or the daemon's own signer.
#ifndef SIGNET_APPLIANCE_AUDIT_AUDIT_KEY_H_
#define SIGNET_APPLIANCE_AUDIT_AUDIT_KEY_H_

#include <openssl/evp.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/openssl_error.h"
#include "common/ossl_ptr.h"

namespace signet::audit {

class AuditPublicKey {
 public:
  // A SubjectPublicKeyInfo or an X.509 certificate, PEM or DER, of an RSA or
  // EC key. The certificate is only a container for the key: nothing about
  // it (validity, issuer) is checked.
  static absl::StatusOr<AuditPublicKey> Parse(absl::string_view pem_or_der);
  // A SubjectPublicKeyInfo, DER (CheckpointSigner::PublicKeyDer).
  static absl::StatusOr<AuditPublicKey> FromSpkiDer(absl::string_view der);
  // The public half of `key`, copied: a token key's handle is not kept.
  static absl::StatusOr<AuditPublicKey> FromKey(const EVP_PKEY* key);

  // SHA-256 of the SubjectPublicKeyInfo: what checkpoints name their key by.
  const std::string& key_id() const { return key_id_; }

  // OK when `signature` is the key's signature over `statement` (SHA-256;
  // PKCS#1 v1.5 or ECDSA), else DATA_LOSS.
  absl::Status Verify(absl::string_view statement, absl::string_view signature) const;

 private:
  AuditPublicKey(EvpPkeyPtr key, bool is_rsa, std::string key_id);

  EvpPkeyPtr key_;
  bool is_rsa_;
  std::string key_id_;
};

}  // namespace signet::audit

#endif  // SIGNET_APPLIANCE_AUDIT_AUDIT_KEY_H_
