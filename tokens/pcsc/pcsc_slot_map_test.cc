// Mapping PC/SC readers to PKCS#11 slots: the pure matching, and what
// OpenSC's module really puts in CK_SLOT_INFO for the vpcd readers of a
// private pcscd with a virtual PIV card in one of them.
#include "tokens/pcsc/pcsc_slot_map.h"

#include <cstdio>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/piv_card_env.h"
#include "tests/fixtures/status_matchers.h"
#include "tokens/token_selector.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(SlotsForReaderTest, MatchesTheDescriptionExactly) {
  const std::vector<SlotDescription> slots = {
      {.slot = 0, .description = "Signet Virtual PCD 00 00"},
      {.slot = 1, .description = "Signet Virtual PCD 00 01"},
      {.slot = 4, .description = "Signet Virtual PCD 00 00"},
  };
  EXPECT_THAT(SlotsForReader(slots, "Signet Virtual PCD 00 00"), ElementsAre(0, 4));
  EXPECT_THAT(SlotsForReader(slots, "Signet Virtual PCD 00 01"), ElementsAre(1));
  EXPECT_THAT(SlotsForReader(slots, "Signet Virtual PCD 00"), IsEmpty());
  EXPECT_THAT(SlotsForReader(slots, ""), IsEmpty());
}

TEST(SlotsForReaderTest, ALongReaderNameMatchesItsFirst64Bytes) {
  // PC/SC reader names go up to 127 bytes; slotDescription holds 64.
  const std::string reader =
      "Yubico YubiKey OTP+FIDO+CCID with a very long vendor supplied name 01 00";
  ASSERT_GT(reader.size(), 64u);
  std::string cut = reader.substr(0, 64);
  while (cut.back() == ' ') cut.pop_back();
  const std::vector<SlotDescription> slots = {{.slot = 7, .description = cut}};
  EXPECT_THAT(SlotsForReader(slots, reader), ElementsAre(7));
}

// OpenSC in this process, on a private pcscd with a virtual PIV card in
// reader 0 and reader 1 empty.
class OpenScSlotMapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(env_, fixtures::PivCardEnv::Start("pcsc-slot-map"));
    fixtures::VirtualPivOptions options;
    options.serial = "0000000000000c01";
    options.keys = {{0x9A, "EC:P-256", false}};
    ASSERT_OK_AND_ASSIGN(card_, env_->MakeCard(options));
    ASSERT_THAT(env_->Insert(*card_), IsOk());
  }

  std::unique_ptr<fixtures::PivCardEnv> env_;
  std::unique_ptr<fixtures::VirtualPivCard> card_;
};

TEST_F(OpenScSlotMapTest, OpenScNamesEachSlotAfterItsReader) {
  absl::StatusOr<std::shared_ptr<Module>> module =
      Module::Load(fixtures::PivCardEnv::kOpenScModule);
  ASSERT_THAT(module, IsOk());
  absl::StatusOr<std::vector<SlotDescription>> slots = DescribeSlots(**module);
  ASSERT_THAT(slots, IsOk());
  for (const SlotDescription& slot : *slots) {
    std::printf("slot %lu: description \"%s\" manufacturer \"%s\" token %d removable %d hw %d\n",
                static_cast<unsigned long>(slot.slot), slot.description.c_str(),
                slot.manufacturer.c_str(), slot.token_present, slot.removable, slot.hardware);
  }

  const std::vector<CK_SLOT_ID> with_card = SlotsForReader(*slots, env_->pcscd().ReaderName(0));
  const std::vector<CK_SLOT_ID> empty = SlotsForReader(*slots, env_->pcscd().ReaderName(1));
  ASSERT_EQ(with_card.size(), 1u);
  ASSERT_EQ(empty.size(), 1u);
  for (const SlotDescription& slot : *slots) {
    if (slot.slot == with_card[0]) {
      EXPECT_TRUE(slot.token_present);
      EXPECT_TRUE(slot.removable);
      EXPECT_TRUE(slot.hardware);
      // OpenSC 0.23 leaves manufacturerID blank for PC/SC readers.
      EXPECT_EQ(slot.manufacturer, "");
    }
    if (slot.slot == empty[0]) {
      EXPECT_FALSE(slot.token_present);
    }
  }

  // The token in the card's slot is the virtual card, by its serial.
  absl::StatusOr<std::vector<TokenDescription>> tokens = ListPresentTokens(**module);
  ASSERT_THAT(tokens, IsOk());
  ASSERT_EQ(tokens->size(), 1u);
  EXPECT_EQ((*tokens)[0].slot, with_card[0]);
  EXPECT_EQ((*tokens)[0].serial, card_->serial());

  // Pulled: the slot stays, without a token. Put back: the token is in the
  // same slot again (OpenSC numbers slots per reader, not per card).
  card_->Remove();
  ASSERT_THAT(env_->pcscd().WaitForCard(false), IsOk());
  slots = DescribeSlots(**module);
  ASSERT_THAT(slots, IsOk());
  ASSERT_THAT(SlotsForReader(*slots, env_->pcscd().ReaderName(0)), ElementsAre(with_card[0]));
  for (const SlotDescription& slot : *slots) {
    EXPECT_FALSE(slot.token_present) << slot.slot;
  }
  ASSERT_THAT(env_->Insert(*card_), IsOk());
  slots = DescribeSlots(**module);
  ASSERT_THAT(slots, IsOk());
  for (const SlotDescription& slot : *slots) {
    std::printf("after re-insertion: slot %lu \"%s\" token %d\n",
                static_cast<unsigned long>(slot.slot), slot.description.c_str(),
                slot.token_present);
  }
  tokens = ListPresentTokens(**module);
  ASSERT_THAT(tokens, IsOk());
  ASSERT_EQ(tokens->size(), 1u);
  EXPECT_EQ((*tokens)[0].slot, with_card[0]);
}

}  // namespace
}  // namespace signet
