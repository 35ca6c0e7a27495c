#include "appliance/server/metrics_endpoint.h"

#include <optional>
#include <utility>

#include "absl/time/clock.h"
#include "appliance/audit/audit_metrics.h"
#include "appliance/http/metrics_listener.h"
#include "appliance/pki/revocation_metrics.h"
#include "common/status_macros.h"

namespace signet::server {

std::string MetricsText(const pki::ValidationPolicy& validation, const audit::AuditLog* audit,
                        absl::Time now) {
  std::string out;
  if (audit != nullptr) out = audit::AuditMetricsText(audit->counters());
  if (validation.crls == nullptr) return out + "# signet: revocation is not checked\n";
  pki::RevocationMetrics metrics;
  metrics.sources = validation.crls->Sources();
  metrics.crls = validation.crls->counters();
  if (validation.ocsp != nullptr) metrics.ocsp = validation.ocsp->counters();
  return out + pki::RevocationMetricsText(metrics, now);
}

absl::StatusOr<std::unique_ptr<http::HttpListener>> StartMetricsEndpoint(
    const std::string& address, const pki::ValidationPolicy& validation,
    const audit::AuditLog* audit) {
  return http::StartMetricsListener(
      address, [&validation, audit] { return MetricsText(validation, audit, absl::Now()); });
}

}  // namespace signet::server
