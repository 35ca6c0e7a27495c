// Finding a private key on a token and everything Signet caches about it.
#ifndef SIGNET_TOKENS_KEY_LOCATOR_H_
#define SIGNET_TOKENS_KEY_LOCATOR_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/ossl_ptr.h"
#include "tokens/keys/algorithms.h"
#include "tokens/module.h"
#include "tokens/pkcs11.h"

namespace signet {

// Which key: by CKA_LABEL, CKA_ID, or both (both must then match).
struct KeySelector {
  std::optional<std::string> label;
  std::optional<std::string> id;  // raw bytes

  static KeySelector ByLabel(std::string label);
  static KeySelector ById(std::string id);
  std::string Describe() const;
};

// What the token says the key may do, and how it was made.
struct KeyAttributes {
  bool sign = false;
  bool decrypt = false;
  bool derive = false;
  bool unwrap = false;
  bool sensitive = false;
  bool always_sensitive = false;
  bool extractable = true;
  bool never_extractable = false;
  // CKA_ALWAYS_AUTHENTICATE: the token wants the PIN again right before each
  // operation with the key (C_Login with CKU_CONTEXT_SPECIFIC between the
  // operation's init and its call), e.g. the PIV digital signature key.
  bool always_authenticate = false;
};

struct LocatedKey {
  CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
  std::string label;
  std::string id;
  KeyType type = KeyType::kRsa;
  KeyAttributes attributes;
  EvpPkeyPtr public_key;
  X509Ptr certificate;  // null if the token has none with the key's CKA_ID
};

// Finds exactly one private key matching `selector` and reads its public
// key and certificate. NOT_FOUND for none, INVALID_ARGUMENT for several.
absl::StatusOr<LocatedKey> LocateKey(const Module& module, CK_SESSION_HANDLE session,
                                     const KeySelector& selector);

}  // namespace signet

#endif  // SIGNET_TOKENS_KEY_LOCATOR_H_
