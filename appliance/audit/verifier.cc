#include "appliance/audit/verifier.h"

#include "appliance/audit/log_scanner.h"

namespace signet::audit {

absl::StatusOr<AuditReport> VerifyAuditLog(absl::string_view path, const AuditPublicKey& key) {
  absl::StatusOr<ScannedLog> scanned = ScanAuditLog(path, key);
  if (!scanned.ok()) return scanned.status();
  return scanned->report;
}

}  // namespace signet::audit
