#include "appliance/pki/revocation_metrics.h"

#include <cstdint>

#include "absl/strings/str_cat.h"

namespace signet::pki {
namespace {

void Family(std::string& out, const char* name, const char* type, const char* help) {
  absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

void Sample(std::string& out, const char* name, const std::string& source, int64_t value) {
  absl::StrAppend(&out, name, "{source=\"", PrometheusLabelValue(source), "\"} ", value, "\n");
}

void Counter(std::string& out, const char* name, const char* help, uint64_t value) {
  Family(out, name, "counter", help);
  absl::StrAppend(&out, name, " ", value, "\n");
}

}  // namespace

std::string PrometheusLabelValue(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string RevocationMetricsText(const RevocationMetrics& metrics, absl::Time now) {
  std::string out;
  Family(out, "signet_crl_age_seconds", "gauge",
         "Seconds since the thisUpdate of the CRL held for each source.");
  for (const CrlSourceState& source : metrics.sources) {
    if (source.this_update.has_value()) {
      Sample(out, "signet_crl_age_seconds", source.source,
             absl::ToInt64Seconds(now - *source.this_update));
    }
  }
  Family(out, "signet_crl_next_update_seconds", "gauge",
         "Seconds until the nextUpdate of the CRL held for each source; negative once past.");
  for (const CrlSourceState& source : metrics.sources) {
    if (source.next_update.has_value()) {
      Sample(out, "signet_crl_next_update_seconds", source.source,
             absl::ToInt64Seconds(*source.next_update - now));
    }
  }
  Family(out, "signet_crl_source_failing_seconds", "gauge",
         "Seconds since fetching from each source began to fail; 0 while its last fetch worked.");
  for (const CrlSourceState& source : metrics.sources) {
    Sample(
        out, "signet_crl_source_failing_seconds", source.source,
        source.failing_since.has_value() ? absl::ToInt64Seconds(now - *source.failing_since) : 0);
  }
  Counter(out, "signet_crl_fetches_total", "CRL fetches made over HTTP.", metrics.crls.fetches);
  Counter(out, "signet_crl_fetch_failures_total", "CRL fetches that failed.",
          metrics.crls.fetch_failures);
  Counter(out, "signet_crl_cache_hits_total", "Distribution points answered from the cache.",
          metrics.crls.cache_hits);
  Counter(out, "signet_crl_file_reloads_total", "Times the CRL files were read again.",
          metrics.crls.file_reloads);
  Counter(out, "signet_crl_remembered_answers_total",
          "Certificates answered from the memo of earlier CRL checks.",
          metrics.crls.remembered_answers);
  if (metrics.ocsp.has_value()) {
    Counter(out, "signet_ocsp_requests_total", "OCSP requests made over HTTP.",
            metrics.ocsp->requests);
    Counter(out, "signet_ocsp_failures_total", "OCSP requests that gave no usable answer.",
            metrics.ocsp->failures);
    Counter(out, "signet_ocsp_cache_hits_total", "OCSP answers given without a request.",
            metrics.ocsp->cache_hits);
  }
  return out;
}

}  // namespace signet::pki
