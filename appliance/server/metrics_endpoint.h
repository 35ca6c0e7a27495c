// signetd's /metrics: what an operator's monitoring scrapes, in the
// Prometheus text format over plain HTTP GET: the audit log's sync counters
// (audit/audit_metrics.h) and the revocation metrics
// (pki/revocation_metrics.h: each CRL source's age and failures, the CRL
// and OCSP counters). Nothing secret is in them, but they name the CRL
// sources in use; the address is the operator's to restrict.
#ifndef SIGNET_APPLIANCE_SERVER_METRICS_ENDPOINT_H_
#define SIGNET_APPLIANCE_SERVER_METRICS_ENDPOINT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "appliance/audit/audit_log.h"
#include "appliance/http/http_listener.h"
#include "appliance/pki/validation_policy.h"

namespace signet::server {

// The metrics as of `now`: the audit log's when there is one (`audit` may be
// null: no keys), then revocation's, or a comment when it is not checked.
std::string MetricsText(const pki::ValidationPolicy& validation, const audit::AuditLog* audit,
                        absl::Time now);

// Serves MetricsText at GET /metrics on `address` ("127.0.0.1:9464").
// `validation` and `audit` outlive the endpoint.
absl::StatusOr<std::unique_ptr<http::HttpListener>> StartMetricsEndpoint(
    const std::string& address, const pki::ValidationPolicy& validation,
    const audit::AuditLog* audit);

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_METRICS_ENDPOINT_H_
