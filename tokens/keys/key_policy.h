// Which private keys Signet agrees to use (docs/architecture.md, decision D6): keys that
// were generated on the token and never left it.
#ifndef SIGNET_TOKENS_KEY_POLICY_H_
#define SIGNET_TOKENS_KEY_POLICY_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tokens/keys/key_locator.h"

namespace signet {

struct KeyPolicy {
  // Accept private keys that were ever extractable or not sensitive (keys
  // imported from files). Off by default.
  bool allow_imported_keys = false;
};

// True if the key was born on the token and never extractable; false if it
// is an imported key that the policy lets in; FAILED_PRECONDITION naming the
// offending attributes if the policy refuses it.
absl::StatusOr<bool> CheckKeyPolicy(const KeyAttributes& attributes, const KeyPolicy& policy,
                                    absl::string_view key_description);

}  // namespace signet

#endif  // SIGNET_TOKENS_KEY_POLICY_H_
