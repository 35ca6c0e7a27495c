#include "appliance/audit/verifier.h"

#include "appliance/audit/log_scanner.h"
#include "common/status_macros.h"

namespace signet::audit {

absl::StatusOr<AuditReport> VerifyAuditLog(absl::string_view path, const AuditPublicKey& key) {
  ASSIGN_OR_RETURN(ScannedLog scanned, ScanAuditLog(path, key));
  return scanned.report;
}

}  // namespace signet::audit
