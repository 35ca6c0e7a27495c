// Reads a log from its first line to its last, checking everything
// VerifyAuditLog promises; it also tells AuditLog::Open where the chain ends
// so that appending continues it.
#ifndef SIGNET_APPLIANCE_AUDIT_LOG_SCANNER_H_
#define SIGNET_APPLIANCE_AUDIT_LOG_SCANNER_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "appliance/audit/audit_key.h"
#include "appliance/audit/chain.h"
#include "appliance/audit/verifier.h"

namespace signet::audit {

struct ScannedLog {
  AuditReport report;
  ChainTail tail;
  // Bytes read (all of the file) and the file they were read from.
  uint64_t size = 0;
  uint64_t device = 0;
  uint64_t inode = 0;
};

absl::StatusOr<ScannedLog> ScanAuditLog(absl::string_view path, const AuditPublicKey& key);

}  // namespace signet::audit

#endif  // SIGNET_APPLIANCE_AUDIT_LOG_SCANNER_H_
