#include "appliance/audit/chain.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/escaping.h"

namespace signet::audit {
namespace {

// Known answers computed with Python's hashlib from the rules in
// audit.proto: they pin the format that other verifiers reimplement.
const std::string kLogId = absl::HexStringToBytes("0102030405060708090a0b0c0d0e0f10");

TEST(ChainTest, GenesisIsTheHashOfTheLabelAndTheLogId) {
  EXPECT_EQ(absl::BytesToHexString(GenesisHash(kLogId)),
            "e9b7fbfa992abf09e22a64d48381191fc67cc779d18dcee94f4d607c04b41807");
}

TEST(ChainTest, ChainHashCoversTheEntrysDeterministicBytes) {
  v1::Entry entry;
  entry.set_sequence(1);
  entry.mutable_record()->set_caller("a");
  // SHA-256(genesis || 08 01 1a 03 12 01 61)
  EXPECT_EQ(absl::BytesToHexString(ChainHash(GenesisHash(kLogId), entry)),
            "0b0737ca8c00ee019ff4152ad9027bca93ae2e58f6f823e7a58ed404da870b79");
}

TEST(ChainTest, ChainHashLeavesOutTheEntrysOwnHash) {
  v1::Entry entry;
  entry.set_sequence(7);
  entry.mutable_record()->set_key("bank-signing");
  const std::string previous = Sha256("previous");
  const std::string hash = ChainHash(previous, entry);
  entry.set_chain_hash("anything at all");
  EXPECT_EQ(ChainHash(previous, entry), hash);
}

TEST(ChainTest, ChainHashChangesWithEveryInput) {
  v1::Entry entry;
  entry.set_sequence(7);
  entry.mutable_record()->set_key("bank-signing");
  const std::string hash = ChainHash(Sha256("previous"), entry);
  EXPECT_NE(ChainHash(Sha256("other"), entry), hash);
  v1::Entry renumbered = entry;
  renumbered.set_sequence(8);
  EXPECT_NE(ChainHash(Sha256("previous"), renumbered), hash);
  v1::Entry edited = entry;
  edited.mutable_record()->set_key("bank-signinG");
  EXPECT_NE(ChainHash(Sha256("previous"), edited), hash);
}

TEST(ChainTest, CheckpointStatementLayout) {
  const std::string chain_hash(kHashSize, '\xab');
  const std::string statement = CheckpointStatement(kLogId, 0x0102030405060708, chain_hash);
  EXPECT_EQ(statement, std::string("signet.audit.v1 checkpoint\0", 27) + kLogId +
                           absl::HexStringToBytes("0102030405060708") + chain_hash);
}

}  // namespace
}  // namespace signet::audit
