#include "tokens/token_selector.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "tokens/objects.h"

namespace signet {

TokenSelector TokenSelector::ByLabel(std::string label) {
  TokenSelector s;
  s.label = std::move(label);
  return s;
}

TokenSelector TokenSelector::BySerial(std::string serial) {
  TokenSelector s;
  s.serial = std::move(serial);
  return s;
}

absl::StatusOr<TokenSelector> TokenSelector::FromUri(const Pkcs11Uri& uri) {
  TokenSelector s;
  s.label = uri.token;
  s.serial = uri.serial;
  s.manufacturer = uri.manufacturer;
  s.model = uri.model;
  if (uri.slot_id) s.slot_id = static_cast<CK_SLOT_ID>(*uri.slot_id);
  // Ignoring an attribute would widen the match to tokens the URI excludes.
  for (const auto& [present, name] :
       {std::pair{uri.library_manufacturer.has_value(), "library-manufacturer"},
        std::pair{uri.library_description.has_value(), "library-description"},
        std::pair{uri.library_version.has_value(), "library-version"},
        std::pair{uri.slot_description.has_value(), "slot-description"},
        std::pair{uri.slot_manufacturer.has_value(), "slot-manufacturer"}}) {
    if (present) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the pkcs11: URI attribute ", name,
          " cannot select a token here; use token=, serial=, manufacturer=, model= or slot-id="));
    }
  }
  if (s.empty()) {
    return absl::InvalidArgumentError(
        "the pkcs11: URI names no token: give token=, serial=, manufacturer=, model= or slot-id=");
  }
  return s;
}

absl::StatusOr<TokenSelector> TokenSelector::FromUri(absl::string_view uri) {
  ASSIGN_OR_RETURN(Pkcs11Uri parsed, ParsePkcs11Uri({uri.data(), uri.size()}));
  return FromUri(parsed);
}

bool TokenSelector::empty() const {
  return !label && !serial && !manufacturer && !model && !slot_id;
}

bool TokenSelector::Matches(const TokenDescription& token) const {
  return (!label || *label == token.label) && (!serial || *serial == token.serial) &&
         (!manufacturer || *manufacturer == token.manufacturer) &&
         (!model || *model == token.model) && (!slot_id || *slot_id == token.slot);
}

std::string TokenSelector::Describe() const {
  std::vector<std::string> parts;
  if (label) parts.push_back(absl::StrCat("token=", *label));
  if (serial) parts.push_back(absl::StrCat("serial=", *serial));
  if (manufacturer) parts.push_back(absl::StrCat("manufacturer=", *manufacturer));
  if (model) parts.push_back(absl::StrCat("model=", *model));
  if (slot_id) parts.push_back(absl::StrCat("slot-id=", *slot_id));
  return parts.empty() ? "any token" : absl::StrJoin(parts, ";");
}

absl::StatusOr<std::vector<CK_SLOT_ID>> ListSlots(const Module& module, bool token_present_only) {
  const CK_BBOOL token_present = token_present_only ? CK_TRUE : CK_FALSE;
  CK_ULONG count = 0;
  CK_RV rv = SIGNET_P11(module, GetSlotList, token_present, nullptr, &count);
  if (rv != CKR_OK) return SIGNET_P11_ERROR(GetSlotList, rv);
  std::vector<CK_SLOT_ID> slots(count);
  if (count > 0) {
    rv = SIGNET_P11(module, GetSlotList, token_present, slots.data(), &count);
    if (rv != CKR_OK) return SIGNET_P11_ERROR(GetSlotList, rv);
    slots.resize(count);
  }
  return slots;
}

absl::StatusOr<std::vector<TokenDescription>> ListPresentTokens(const Module& module) {
  ASSIGN_OR_RETURN(std::vector<CK_SLOT_ID> slots, ListSlots(module, /*token_present_only=*/true));
  std::vector<TokenDescription> tokens;
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info{};
    const CK_RV rv = SIGNET_P11(module, GetTokenInfo, slot, &info);
    // A token can leave between the two calls; it is simply not present.
    if (rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_SLOT_ID_INVALID ||
        rv == CKR_TOKEN_NOT_RECOGNIZED) {
      continue;
    }
    if (rv != CKR_OK) return SIGNET_P11_ERROR(GetTokenInfo, rv);
    if (!(info.flags & CKF_TOKEN_INITIALIZED)) continue;
    // Read here, while the token is being found anyway, so that the reader
    // watch never has to ask the module (OpenSC 0.23 can deadlock when
    // C_GetSlotList runs beside a card operation).
    CK_SLOT_INFO slot_info{};
    std::string slot_description;
    if (SIGNET_P11(module, GetSlotInfo, slot, &slot_info) == CKR_OK) {
      slot_description =
          FixedWidthText(slot_info.slotDescription, sizeof(slot_info.slotDescription));
    }
    tokens.push_back(TokenDescription{
        .slot = slot,
        .label = FixedWidthText(info.label, sizeof(info.label)),
        .serial = FixedWidthText(info.serialNumber, sizeof(info.serialNumber)),
        .manufacturer = FixedWidthText(info.manufacturerID, sizeof(info.manufacturerID)),
        .model = FixedWidthText(info.model, sizeof(info.model)),
        .flags = info.flags,
        .slot_description = std::move(slot_description),
    });
  }
  return tokens;
}

absl::StatusOr<TokenDescription> FindToken(const Module& module, const TokenSelector& selector) {
  ASSIGN_OR_RETURN(std::vector<TokenDescription> tokens, ListPresentTokens(module));
  std::vector<TokenDescription> matches;
  for (const TokenDescription& token : tokens) {
    if (selector.Matches(token)) matches.push_back(token);
  }
  if (matches.empty()) {
    return absl::NotFoundError(absl::StrCat("no token matching ", selector.Describe(),
                                            " is present in ", module.info().path));
  }
  if (matches.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(matches.size(), " tokens match ",
                                                   selector.Describe(), " in ", module.info().path,
                                                   "; add serial= to choose one"));
  }
  return matches.front();
}

}  // namespace signet
