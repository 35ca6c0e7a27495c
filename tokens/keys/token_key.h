// A private key on a token, found once and cached: its object handle, its
// public key and certificate, and the operations it can do. Each operation
// costs one init and one call on a pooled session.
#ifndef SIGNET_TOKENS_TOKEN_KEY_H_
#define SIGNET_TOKENS_TOKEN_KEY_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/ossl_ptr.h"
#include "common/secret.h"
#include "tokens/keys/algorithms.h"
#include "tokens/keys/key_locator.h"
#include "tokens/keys/key_policy.h"
#include "tokens/token.h"

namespace signet {

struct SignOptions {
  SignatureScheme scheme = SignatureScheme::kRsaPkcs1;
  HashAlgorithm hash = HashAlgorithm::kSha256;
  // RSA-PSS salt length in bytes; negative means the digest length (what CMS
  // and most verifiers expect).
  int pss_salt_length = -1;
};

class TokenKey {
 public:
  // Finds the private key, reads its public key (from the key, its public
  // key object or its certificate) and its certificate, and checks the
  // policy. Fails if the key is missing, ambiguous or refused by policy.
  static absl::StatusOr<std::shared_ptr<TokenKey>> Load(std::shared_ptr<Token> token,
                                                        const KeySelector& selector,
                                                        const KeyPolicy& policy,
                                                        absl::Time deadline);

  TokenKey(const TokenKey&) = delete;
  TokenKey& operator=(const TokenKey&) = delete;

  // Signs a digest the caller computed. Retried once, after recovery, when a
  // token fault interrupted it (signing is idempotent). Every signature is
  // verified with the key's public key before it is returned: one that does
  // not verify is discarded, the call fails with INTERNAL and the token goes
  // through recovery (its keys are found and checked again).
  absl::StatusOr<std::string> Sign(const SignOptions& options, absl::string_view digest,
                                   absl::Time deadline) const;
  // Decrypts one RSA block. Never retried automatically.
  //
  // For a key with CKA_ALWAYS_AUTHENTICATE, Sign and Decrypt present the PIN
  // before each operation (Token::LoginForOperation).
  absl::StatusOr<SecretBytes> Decrypt(DecryptionScheme scheme, absl::string_view ciphertext,
                                      absl::Time deadline) const;
  // ECDH (cofactor-less, no KDF): the shared secret with the peer's public
  // point, uncompressed (0x04 || x || y). Never retried automatically.
  // Refused (FAILED_PRECONDITION, before any PKCS#11 call) for a key with
  // CKA_ALWAYS_AUTHENTICATE: PKCS#11 places the per-operation login between
  // an operation's init and its call, and C_DeriveKey is one call with no
  // init, so such a key has no point at which its PIN could be presented.
  absl::StatusOr<SecretBytes> DeriveEcdh(absl::string_view peer_point, absl::Time deadline) const;

  const std::string& label() const { return label_; }
  const std::string& id() const { return id_; }
  KeyType type() const { return type_; }
  int bits() const;
  const KeyAttributes& attributes() const { return attributes_; }
  // Was the key refused by the default policy and let in by allow_imported_keys?
  bool imported() const { return imported_; }
  EVP_PKEY* public_key() const { return public_key_.get(); }
  // Null when the token holds no certificate with the key's CKA_ID.
  X509Ptr certificate() const;
  const std::shared_ptr<Token>& token() const { return token_; }
  std::string Describe() const;

  // Replaces the cached certificate after one was stored on the token.
  void SetCertificate(X509Ptr certificate);

 private:
  TokenKey(std::shared_ptr<Token> token, KeySelector selector);

  // The key's handle for the token's current generation, finding the key
  // again (and checking its public key) after a fault.
  absl::StatusOr<CK_OBJECT_HANDLE> Handle(const SessionLease& lease) const;
  // One operation with the key on a leased session (token_key.cc).
  class Operation;

  absl::StatusOr<std::string> SignOnce(const SignOptions& options, absl::string_view digest,
                                       absl::Time deadline) const;

  const std::shared_ptr<Token> token_;
  const KeySelector selector_;
  std::string label_;
  std::string id_;
  KeyType type_ = KeyType::kRsa;
  KeyAttributes attributes_;
  bool imported_ = false;
  EvpPkeyPtr public_key_;
  mutable std::mutex certificate_mutex_;
  X509Ptr certificate_;

  // Held from C_*Init to the operation's end for a key with
  // CKA_ALWAYS_AUTHENTICATE. For PKCS#11 a context-specific login belongs to
  // one session, but on a smartcard it is a PIN check on the card that the
  // next use of the key consumes ("PIN always"), and a middleware such as
  // OpenSC does not stop a second operation with the key on another session
  // from coming in between (two checks, two uses: the second one fails).
  mutable std::mutex always_authenticate_mutex_;

  // One bit per OAEP DecryptionScheme, set when the token refused OAEP with
  // that hash: from then on its padding is removed in software after a raw
  // RSA decryption on the token. Per hash, as a token may do OAEP with
  // SHA-256 but not with SHA-512.
  mutable std::atomic<uint32_t> oaep_unpadded_here_{0};

  mutable std::mutex refind_mutex_;
  mutable std::atomic<CK_OBJECT_HANDLE> handle_{CK_INVALID_HANDLE};
  mutable std::atomic<uint64_t> handle_generation_{0};
};

}  // namespace signet

#endif  // SIGNET_TOKENS_TOKEN_KEY_H_
