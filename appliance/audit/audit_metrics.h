// The audit log's counters for signetd's /metrics (Prometheus text format):
// how many fdatasyncs the log made and how many records they made durable,
// so that an operator sees the group commit's batches
// (rate(records) / rate(syncs)) and what a group commit window changes.
#ifndef SIGNET_APPLIANCE_AUDIT_AUDIT_METRICS_H_
#define SIGNET_APPLIANCE_AUDIT_AUDIT_METRICS_H_

#include <string>

#include "appliance/audit/audit_log.h"

namespace signet::audit {

std::string AuditMetricsText(const AuditLogCounters& counters);

}  // namespace signet::audit

#endif  // SIGNET_APPLIANCE_AUDIT_AUDIT_METRICS_H_
