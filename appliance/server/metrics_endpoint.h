// signetd's /metrics: what an operator's monitoring scrapes, in the
// Prometheus text format over plain HTTP GET. Today the revocation metrics
// (pki/revocation_metrics.h: each CRL source's age and failures, the CRL
// and OCSP counters). Nothing secret is in them, but they name the CRL
// sources in use; the address is the operator's to restrict.
#ifndef SIGNET_APPLIANCE_SERVER_METRICS_ENDPOINT_H_
#define SIGNET_APPLIANCE_SERVER_METRICS_ENDPOINT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "appliance/http/http_listener.h"
#include "appliance/pki/validation_policy.h"

namespace signet::server {

// The metrics as of `now`; a comment only when revocation is not checked.
std::string MetricsText(const pki::ValidationPolicy& validation, absl::Time now);

// Serves MetricsText at GET /metrics on `address` ("127.0.0.1:9464").
// `validation` outlives the endpoint.
absl::StatusOr<std::unique_ptr<http::HttpListener>> StartMetricsEndpoint(
    const std::string& address, const pki::ValidationPolicy& validation);

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_METRICS_ENDPOINT_H_
