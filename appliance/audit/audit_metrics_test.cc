#include "appliance/audit/audit_metrics.h"

#include <gtest/gtest.h>

namespace signet::audit {
namespace {

TEST(AuditMetricsTest, BothCountersWithTheirHelpAndType) {
  EXPECT_EQ(AuditMetricsText({.syncs = 3, .records = 41}),
            "# HELP signet_audit_syncs_total Writes of the audit log made durable, one fdatasync "
            "each (batches of records, the opening entries, the final checkpoint).\n"
            "# TYPE signet_audit_syncs_total counter\n"
            "signet_audit_syncs_total 3\n"
            "# HELP signet_audit_records_synced_total Audit records made durable; divided by the "
            "syncs, the records per batch.\n"
            "# TYPE signet_audit_records_synced_total counter\n"
            "signet_audit_records_synced_total 41\n");
}

}  // namespace
}  // namespace signet::audit
