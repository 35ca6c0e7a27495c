#include "appliance/server/metrics_endpoint.h"

#include <optional>
#include <utility>

#include "absl/time/clock.h"
#include "appliance/http/metrics_listener.h"
#include "appliance/pki/revocation_metrics.h"
#include "common/status_macros.h"

namespace signet::server {

std::string MetricsText(const pki::ValidationPolicy& validation, absl::Time now) {
  if (validation.crls == nullptr) return "# signet: revocation is not checked\n";
  pki::RevocationMetrics metrics;
  metrics.sources = validation.crls->Sources();
  metrics.crls = validation.crls->counters();
  if (validation.ocsp != nullptr) metrics.ocsp = validation.ocsp->counters();
  return pki::RevocationMetricsText(metrics, now);
}

absl::StatusOr<std::unique_ptr<http::HttpListener>> StartMetricsEndpoint(
    const std::string& address, const pki::ValidationPolicy& validation) {
  return http::StartMetricsListener(address,
                                    [&validation] { return MetricsText(validation, absl::Now()); });
}

}  // namespace signet::server
