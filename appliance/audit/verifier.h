// `signet audit verify`: checks an audit log file end to end against the
// audit key's public half (docs/audit.md says what this can and cannot
// prove).
#ifndef SIGNET_APPLIANCE_AUDIT_VERIFIER_H_
#define SIGNET_APPLIANCE_AUDIT_VERIFIER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "appliance/audit/audit_key.h"

namespace signet::audit {

struct AuditReport {
  std::string log_id_hex;
  uint64_t entries = 0;  // lines, the header included
  uint64_t records = 0;
  uint64_t checkpoints = 0;
  uint64_t reopens = 0;
  // The last entry's sequence number and chain hash: an operator who keeps
  // them (or a copy of the last checkpoint) elsewhere can later tell a cut
  // from a log that ends there.
  uint64_t last_sequence = 0;
  std::string last_chain_hash_hex;
  // Sequence number of the last checkpoint entry.
  uint64_t last_checkpoint_sequence = 0;
  // Records after the last checkpoint: chained but covered by no signature
  // yet (a running daemon's newest records, or those a crash left). Anyone
  // who can write the file could have changed, added or removed them.
  uint64_t unsigned_records = 0;
  // The log ends with the checkpoint Close() writes.
  bool closed = false;
};

// OK with the report when every line parses, the sequence numbers run
// 0, 1, 2, ... without gap or repeat, every chain hash is right, every
// checkpoint names the entry before it and carries a signature by `key`, a
// checkpoint follows the header and every reopen entry, and no more than the
// interval's records go without a checkpoint. Otherwise
// DATA_LOSS naming the first line (and sequence) that fails, or the error of
// reading the file.
absl::StatusOr<AuditReport> VerifyAuditLog(absl::string_view path, const AuditPublicKey& key);

}  // namespace signet::audit

#endif  // SIGNET_APPLIANCE_AUDIT_VERIFIER_H_
