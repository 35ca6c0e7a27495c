// Mapping PC/SC readers to PKCS#11 slots: the pure matching, and what
// OpenSC's module really puts in CK_SLOT_INFO for the vpcd readers of a
// private pcscd with a virtual PIV card in one of them.
#include "tokens/pcsc/pcsc_slot_map.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/pcscd.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/temp_dir.h"
#include "tests/fixtures/test_pki.h"
#include "tests/fixtures/virtual_piv/virtual_piv.h"
#include "tokens/token_selector.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kOpenScModule[] = "/usr/lib/x86_64-linux-gnu/pkcs11/opensc-pkcs11.so";

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
    absl::StatusOr<fixtures::TempDir> dir = fixtures::TempDir::Create("pcsc-slot-map");
    ASSERT_THAT(dir, IsOk());
    dir_.emplace(*std::move(dir));
    // No file cache: what OpenSC shows comes from the card in the reader.
    const std::string conf = dir_->File("opensc.conf");
    std::ofstream(conf) << "app default {\n  framework pkcs15 {\n    use_file_caching = no;\n"
                           "  }\n}\n";
    setenv("OPENSC_CONF", conf.c_str(), /*overwrite=*/1);
    absl::StatusOr<fixtures::TestCa> ca = fixtures::TestCa::Create();
    ASSERT_THAT(ca, IsOk());
    ca_.emplace(*std::move(ca));
    absl::StatusOr<std::unique_ptr<fixtures::Pcscd>> pcscd =
        fixtures::Pcscd::Start(dir_->File("pcscd"));
    ASSERT_THAT(pcscd, IsOk());
    pcscd_ = *std::move(pcscd);
    fixtures::VirtualPivOptions options;
    options.serial = "0000000000000c01";
    options.keys = {{0x9A, "EC:P-256", false}};
    absl::StatusOr<std::unique_ptr<fixtures::VirtualPivCard>> card =
        fixtures::VirtualPivCard::Create(dir_->File("card"), *ca_, options);
    ASSERT_THAT(card, IsOk());
    card_ = *std::move(card);
    ASSERT_THAT(card_->Insert(pcscd_->vpcd_port()), IsOk());
    ASSERT_THAT(pcscd_->WaitForCard(true), IsOk());
  }

  void TearDown() override { unsetenv("OPENSC_CONF"); }

  std::optional<fixtures::TempDir> dir_;
  std::optional<fixtures::TestCa> ca_;
  std::unique_ptr<fixtures::Pcscd> pcscd_;
  std::unique_ptr<fixtures::VirtualPivCard> card_;
};

TEST_F(OpenScSlotMapTest, OpenScNamesEachSlotAfterItsReader) {
  absl::StatusOr<std::shared_ptr<Module>> module = Module::Load(kOpenScModule);
  ASSERT_THAT(module, IsOk());
  absl::StatusOr<std::vector<SlotDescription>> slots = DescribeSlots(**module);
  ASSERT_THAT(slots, IsOk());
  for (const SlotDescription& slot : *slots) {
    std::printf("slot %lu: description \"%s\" manufacturer \"%s\" token %d removable %d hw %d\n",
                static_cast<unsigned long>(slot.slot), slot.description.c_str(),
                slot.manufacturer.c_str(), slot.token_present, slot.removable, slot.hardware);
  }

  const std::vector<CK_SLOT_ID> with_card = SlotsForReader(*slots, pcscd_->ReaderName(0));
  const std::vector<CK_SLOT_ID> empty = SlotsForReader(*slots, pcscd_->ReaderName(1));
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
  ASSERT_THAT(pcscd_->WaitForCard(false), IsOk());
  slots = DescribeSlots(**module);
  ASSERT_THAT(slots, IsOk());
  ASSERT_THAT(SlotsForReader(*slots, pcscd_->ReaderName(0)), ElementsAre(with_card[0]));
  for (const SlotDescription& slot : *slots) {
    EXPECT_FALSE(slot.token_present) << slot.slot;
  }
  ASSERT_THAT(card_->Insert(pcscd_->vpcd_port()), IsOk());
  ASSERT_THAT(pcscd_->WaitForCard(true), IsOk());
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
