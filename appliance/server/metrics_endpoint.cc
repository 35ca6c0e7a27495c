#include "appliance/server/metrics_endpoint.h"

#include <optional>
#include <utility>

#include "absl/time/clock.h"
#include "appliance/http/listen_address.h"
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
  ASSIGN_OR_RETURN(http::ListenAddress listen, http::ParseListenAddress(address));
  http::HttpListenerOptions options;
  options.address = listen.ip;
  options.port = listen.port;
  options.path = "/metrics";
  options.request_media_type.clear();  // GET
  options.reply_media_type = "text/plain; version=0.0.4; charset=utf-8";
  options.max_connections = 8;
  options.threads = 1;
  return http::HttpListener::Start(std::move(options), [&validation](std::string /*body*/) {
    return MetricsText(validation, absl::Now());
  });
}

}  // namespace signet::server
