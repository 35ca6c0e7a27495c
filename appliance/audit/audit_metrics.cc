#include "appliance/audit/audit_metrics.h"

#include <cstdint>

#include "absl/strings/str_cat.h"

namespace signet::audit {
namespace {

void Counter(std::string& out, const char* name, const char* help, uint64_t value) {
  absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " counter\n", name, " ",
                  value, "\n");
}

}  // namespace

std::string AuditMetricsText(const AuditLogCounters& counters) {
  std::string out;
  Counter(out, "signet_audit_syncs_total",
          "Writes of the audit log made durable, one fdatasync each (batches of records, the "
          "opening entries, the final checkpoint).",
          counters.syncs);
  Counter(out, "signet_audit_records_synced_total",
          "Audit records made durable; divided by the syncs, the records per batch.",
          counters.records);
  return out;
}

}  // namespace signet::audit
