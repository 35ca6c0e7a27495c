// The audit log's hash chain and checkpoint statement: the byte-exact rules
// that the writer and every verifier must agree on (docs/audit.md,
// proto/signet/audit/v1/audit.proto).
#ifndef SIGNET_APPLIANCE_AUDIT_CHAIN_H_
#define SIGNET_APPLIANCE_AUDIT_CHAIN_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "signet/audit/v1/audit.pb.h"

namespace signet::audit {

inline constexpr size_t kHashSize = 32;   // SHA-256
inline constexpr size_t kLogIdSize = 16;  // random bytes in the header

std::string Sha256(absl::string_view data);

// chain_hash(-1): what the header (sequence 0) chains from.
std::string GenesisHash(absl::string_view log_id);

// SHA-256(previous_hash || `entry` serialized deterministically without its
// chain_hash field).
std::string ChainHash(absl::string_view previous_hash, const v1::Entry& entry);

// The bytes a checkpoint's signature covers.
std::string CheckpointStatement(absl::string_view log_id, uint64_t covered_sequence,
                                absl::string_view covered_chain_hash);

// Where a chain ends: what the next entry needs to continue it.
struct ChainTail {
  std::string log_id;
  // The sequence number the next entry gets.
  uint64_t next_sequence = 0;
  // The chain hash of entry next_sequence - 1 (GenesisHash for a new log).
  std::string chain_hash;
  // Records after the last checkpoint.
  uint64_t records_since_checkpoint = 0;
  uint32_t checkpoint_interval = 0;
  // Records a due checkpoint may wait for while it cannot be signed.
  uint32_t max_unsigned_records = 0;
};

}  // namespace signet::audit

#endif  // SIGNET_APPLIANCE_AUDIT_CHAIN_H_
