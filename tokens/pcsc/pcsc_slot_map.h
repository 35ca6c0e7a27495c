// Which PKCS#11 slots of a module sit on which PC/SC reader, for modules that
// reach their tokens through pcscd (OpenSC, ykcs11): the reader monitor names
// readers, the token registry knows slots.
//
// What OpenSC 0.23.0 (Debian 12) does, seen with the vpcd readers of a
// private pcscd and a virtual PIV card (pcsc_slot_map_test): slotDescription
// is the PC/SC reader name exactly ("Signet Virtual PCD 00 00"; the field is
// blank-padded and holds 64 bytes, so longer names are cut), manufacturerID
// is blank, flags are CKF_REMOVABLE_DEVICE | CKF_HW_SLOT. Each reader has one
// slot while it is empty and with the PIV card in it (slot ids 0 and 4: OpenSC
// reserves several ids per reader, for cards with several PINs), and the slot
// id stays the same when the card is pulled and put back. So a reader maps
// to slots by description, and a reader may map to several slots.
#ifndef SIGNET_TOKENS_PCSC_SLOT_MAP_H_
#define SIGNET_TOKENS_PCSC_SLOT_MAP_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tokens/module.h"
#include "tokens/pkcs11.h"

namespace signet {

struct SlotDescription {
  CK_SLOT_ID slot = 0;
  std::string description;   // slotDescription, trailing blanks removed
  std::string manufacturer;  // manufacturerID, trailing blanks removed
  bool token_present = false;
  bool removable = false;
  bool hardware = false;
};

// C_GetSlotList(CK_FALSE) and C_GetSlotInfo for each slot. A slot that goes
// away between the two calls is left out.
absl::StatusOr<std::vector<SlotDescription>> DescribeSlots(const Module& module);

// The slots whose description names `reader`: equal to the reader name as a
// 64-byte slotDescription holds it (cut at 64 bytes, trailing blanks
// removed). Pure.
std::vector<CK_SLOT_ID> SlotsForReader(const std::vector<SlotDescription>& slots,
                                       absl::string_view reader);

}  // namespace signet

#endif  // SIGNET_TOKENS_PCSC_SLOT_MAP_H_
