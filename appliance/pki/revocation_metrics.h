// What revocation checking looks like to an operator's monitoring, in the
// Prometheus text exposition format (version 0.0.4): the age of each CRL
// source's CRL and how long until its nextUpdate, since when fetching from
// it fails, and the fetch and cache counters of the CRL store and the OCSP
// client. Sources are named by URL or file path, never by certificate
// content.
#ifndef SIGNET_APPLIANCE_PKI_REVOCATION_METRICS_H_
#define SIGNET_APPLIANCE_PKI_REVOCATION_METRICS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "appliance/pki/crl_store.h"
#include "appliance/pki/ocsp_client.h"

namespace signet::pki {

struct RevocationMetrics {
  std::vector<CrlSourceState> sources;
  CrlStore::Counters crls;
  // Absent when OCSP is off.
  std::optional<OcspClient::Counters> ocsp;
};

// The metrics as of `now`, in whole seconds. A source without a CRL has no age and no
// nextUpdate line, only its failing time.
std::string RevocationMetricsText(const RevocationMetrics& metrics, absl::Time now);

// A label value escaped as the exposition format wants it (backslash,
// double quote and line feed).
std::string PrometheusLabelValue(const std::string& value);

}  // namespace signet::pki

#endif  // SIGNET_APPLIANCE_PKI_REVOCATION_METRICS_H_
