#include "tokens/pcsc/pcsc_slot_map.h"

#include "absl/strings/ascii.h"
#include "common/status_macros.h"
#include "tokens/objects.h"
#include "tokens/token_selector.h"

namespace signet {
namespace {

// What is left of a reader name once it went through a fixed-width,
// blank-padded PKCS#11 text field of `width` bytes.
std::string AsFixedWidthText(absl::string_view text, size_t width) {
  std::string result(text.substr(0, width));
  while (!result.empty() && (result.back() == '\0' || absl::ascii_isspace(result.back()))) {
    result.pop_back();
  }
  return result;
}

}  // namespace

absl::StatusOr<std::vector<SlotDescription>> DescribeSlots(const Module& module) {
  // Every slot: an empty reader is a slot too.
  ASSIGN_OR_RETURN(std::vector<CK_SLOT_ID> ids, ListSlots(module, /*token_present_only=*/false));
  std::vector<SlotDescription> slots;
  for (CK_SLOT_ID id : ids) {
    CK_SLOT_INFO info{};
    const CK_RV rv = SIGNET_P11(module, GetSlotInfo, id, &info);
    // A reader can leave between the two calls.
    if (rv == CKR_SLOT_ID_INVALID || rv == CKR_DEVICE_REMOVED) continue;
    if (rv != CKR_OK) return SIGNET_P11_ERROR(GetSlotInfo, rv);
    slots.push_back(SlotDescription{
        .slot = id,
        .description = FixedWidthText(info.slotDescription, sizeof(info.slotDescription)),
        .manufacturer = FixedWidthText(info.manufacturerID, sizeof(info.manufacturerID)),
        .token_present = (info.flags & CKF_TOKEN_PRESENT) != 0,
        .removable = (info.flags & CKF_REMOVABLE_DEVICE) != 0,
        .hardware = (info.flags & CKF_HW_SLOT) != 0,
    });
  }
  return slots;
}

std::vector<CK_SLOT_ID> SlotsForReader(const std::vector<SlotDescription>& slots,
                                       absl::string_view reader) {
  const std::string wanted = AsFixedWidthText(reader, sizeof(CK_SLOT_INFO{}.slotDescription));
  std::vector<CK_SLOT_ID> matches;
  if (wanted.empty()) return matches;
  for (const SlotDescription& slot : slots) {
    if (slot.description == wanted) matches.push_back(slot.slot);
  }
  return matches;
}

}  // namespace signet
