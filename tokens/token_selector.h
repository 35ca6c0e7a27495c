// Which token a configuration means: by label, serial, manufacturer, model or
// slot, as an RFC 7512 pkcs11: URI can say.
#ifndef SIGNET_TOKENS_TOKEN_SELECTOR_H_
#define SIGNET_TOKENS_TOKEN_SELECTOR_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tokens/module.h"
#include "tokens/pkcs11.h"
#include "tokens/pkcs11_uri.h"

namespace signet {

// A token that is present in a slot.
struct TokenDescription {
  CK_SLOT_ID slot = 0;
  std::string label;
  std::string serial;
  std::string manufacturer;
  std::string model;
  CK_FLAGS flags = 0;
  // The slot's slotDescription (trailing blanks removed): for tokens on
  // PC/SC, the reader's name (pcsc_slot_map.h).
  std::string slot_description;
};

struct TokenSelector {
  std::optional<std::string> label;
  std::optional<std::string> serial;
  std::optional<std::string> manufacturer;
  std::optional<std::string> model;
  std::optional<CK_SLOT_ID> slot_id;

  static TokenSelector ByLabel(std::string label);
  static TokenSelector BySerial(std::string serial);
  // The token attributes of a pkcs11: URI (object attributes are ignored).
  static absl::StatusOr<TokenSelector> FromUri(const Pkcs11Uri& uri);
  static absl::StatusOr<TokenSelector> FromUri(absl::string_view uri);

  bool Matches(const TokenDescription& token) const;
  bool empty() const;
  // "token=bank;serial=1234" — for errors and logs.
  std::string Describe() const;
};

// The module's slots (C_GetSlotList): only those that hold a token
// (initialised or not) when `token_present_only`, else every slot, empty
// readers included.
absl::StatusOr<std::vector<CK_SLOT_ID>> ListSlots(const Module& module, bool token_present_only);

// Every initialised token present in a slot of the module.
absl::StatusOr<std::vector<TokenDescription>> ListPresentTokens(const Module& module);

// The one present token the selector matches: NOT_FOUND for none, and
// INVALID_ARGUMENT when several match (the selector must be made narrower).
absl::StatusOr<TokenDescription> FindToken(const Module& module, const TokenSelector& selector);

}  // namespace signet

#endif  // SIGNET_TOKENS_TOKEN_SELECTOR_H_
