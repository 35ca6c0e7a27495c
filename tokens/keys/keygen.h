// Making keys on a token and storing their certificates beside them.
#ifndef SIGNET_TOKENS_KEYGEN_H_
#define SIGNET_TOKENS_KEYGEN_H_

#include <openssl/x509.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tokens/keys/token_key.h"

namespace signet {

enum class KeyAlgorithm { kRsa2048, kRsa3072, kRsa4096, kEcP256, kEcP384 };

// A key signs or decrypts, never both (docs/architecture.md, decision D6): an RSA
// decryption key decrypts, an EC one derives (ECDH).
enum class KeyPurpose { kSign, kDecrypt };

struct KeyGenSpec {
  std::string label;
  std::string id;  // raw CKA_ID; empty: 16 random bytes
  KeyAlgorithm algorithm = KeyAlgorithm::kEcP256;
  KeyPurpose purpose = KeyPurpose::kSign;
};

// Generates the key pair on the token: private key CKA_TOKEN, CKA_PRIVATE,
// CKA_SENSITIVE, not CKA_EXTRACTABLE, with only its purpose's usage. Refuses
// a label or id that a key on the token already has.
absl::StatusOr<std::shared_ptr<TokenKey>> GenerateKeyPair(std::shared_ptr<Token> token,
                                                          const KeyGenSpec& spec,
                                                          absl::Time deadline);

// Stores `certificate` on the token with the key's CKA_ID and label,
// replacing a certificate stored there before. Refused when the certificate
// is for another public key.
absl::Status StoreCertificate(TokenKey& key, X509* certificate, absl::Time deadline);

}  // namespace signet

#endif  // SIGNET_TOKENS_KEYGEN_H_
