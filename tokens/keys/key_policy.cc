#include "tokens/keys/key_policy.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace signet {

absl::StatusOr<bool> CheckKeyPolicy(const KeyAttributes& attributes, const KeyPolicy& policy,
                                    absl::string_view key_description) {
  std::vector<std::string> problems;
  if (attributes.extractable) problems.push_back("CKA_EXTRACTABLE is true");
  if (!attributes.sensitive) problems.push_back("CKA_SENSITIVE is false");
  if (!attributes.always_sensitive) problems.push_back("CKA_ALWAYS_SENSITIVE is false");
  if (!attributes.never_extractable) problems.push_back("CKA_NEVER_EXTRACTABLE is false");
  if (problems.empty()) return true;
  if (policy.allow_imported_keys && !attributes.extractable && attributes.sensitive) {
    // Imported but locked now: the configuration accepted that.
    return false;
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "refusing private key ", key_description, ": ", absl::StrJoin(problems, ", "),
      policy.allow_imported_keys
          ? " (imported keys are allowed, but only while non-extractable and sensitive)"
          : "; the key may have existed outside the token (set allow_imported_keys to accept "
            "imported keys)"));
}

}  // namespace signet
