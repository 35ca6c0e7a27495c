// audit verify: the audit log checked offline against the audit key's public
// half (appliance/audit/verifier.h), with no daemon and no token.
#include "absl/strings/str_cat.h"
#include "appliance/audit/audit_key.h"
#include "appliance/audit/verifier.h"
#include "appliance/cli/commands.h"
#include "appliance/cli/files.h"
#include "common/status_macros.h"

namespace signet::cli {

absl::Status RunAuditVerify(const Invocation& invocation) {
  ASSIGN_OR_RETURN(std::string key_file, ReadSmallFile(invocation.audit_key_file));
  absl::StatusOr<audit::AuditPublicKey> key = audit::AuditPublicKey::Parse(key_file);
  if (!key.ok()) {
    return absl::Status(key.status().code(),
                        absl::StrCat(invocation.audit_key_file, ": ", key.status().message()));
  }
  absl::StatusOr<audit::AuditReport> report = audit::VerifyAuditLog(invocation.audit_log, *key);
  if (!report.ok()) return report.status();

  std::string text = absl::StrCat(
      "audit log verified: ", invocation.audit_log, "\n",                       //
      "  log id:           ", report->log_id_hex, "\n",                         //
      "  records:          ", report->records, "\n",                            //
      "  checkpoints:      ", report->checkpoints, " (last at sequence ",       //
      report->last_checkpoint_sequence, ")\n",                                  //
      "  reopened:         ", report->reopens, " times\n",                      //
      "  last entry:       sequence ", report->last_sequence, ", chain hash ",  //
      report->last_chain_hash_hex, "\n",                                        //
      "  closed:           ",
      report->closed ? "yes" : "no (signetd is running, or stopped without closing the log)", "\n");
  if (report->unsigned_records > 0) {
    absl::StrAppend(&text, "  unsigned records: ", report->unsigned_records,
                    " after the last checkpoint (chained, but no signature covers them yet)\n");
  }
  absl::StatusOr<OutputFile> out = OutputFile::Create("-");
  if (!out.ok()) return out.status();
  return out->Write(text);
}

}  // namespace signet::cli
