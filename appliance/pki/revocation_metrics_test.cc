#include "appliance/pki/revocation_metrics.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace signet::pki {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

TEST(RevocationMetricsTest, EachSourceHasItsAgeNextUpdateAndFailingTime) {
  RevocationMetrics metrics;
  metrics.sources.push_back({.source = "http://crl.bank.example/ca.crl",
                             .this_update = kNow - absl::Hours(2),
                             .next_update = kNow + absl::Hours(22)});
  metrics.sources.push_back({.source = "file /etc/signet/crl/old.crl",
                             .this_update = kNow - absl::Hours(30),
                             .next_update = kNow - absl::Hours(6),
                             .failing_since = kNow - absl::Minutes(5),
                             .failure = "connection refused"});
  metrics.sources.push_back(
      {.source = "http://down.example/never.crl", .failing_since = kNow - absl::Seconds(90)});
  const std::string text = RevocationMetricsText(metrics, kNow);
  EXPECT_THAT(text, HasSubstr("# TYPE signet_crl_age_seconds gauge\n"));
  EXPECT_THAT(
      text, HasSubstr("signet_crl_age_seconds{source=\"http://crl.bank.example/ca.crl\"} 7200\n"));
  EXPECT_THAT(text, HasSubstr("signet_crl_next_update_seconds{source=\"http://crl.bank.example/"
                              "ca.crl\"} 79200\n"));
  EXPECT_THAT(text, HasSubstr("signet_crl_next_update_seconds{source=\"file "
                              "/etc/signet/crl/old.crl\"} -21600\n"));
  EXPECT_THAT(text, HasSubstr("signet_crl_source_failing_seconds{source=\"file "
                              "/etc/signet/crl/old.crl\"} 300\n"));
  EXPECT_THAT(text, HasSubstr("signet_crl_source_failing_seconds{source=\"http://crl.bank.example/"
                              "ca.crl\"} 0\n"));
  // A source that never answered has no CRL to be old.
  EXPECT_THAT(text, Not(HasSubstr("signet_crl_age_seconds{source=\"http://down.example")));
  EXPECT_THAT(text, HasSubstr("signet_crl_source_failing_seconds{source=\"http://down.example/"
                              "never.crl\"} 90\n"));
  // The failure's text is for the log, not a label.
  EXPECT_THAT(text, Not(HasSubstr("connection refused")));
}

TEST(RevocationMetricsTest, CountersAndOcspOnlyWhenOn) {
  RevocationMetrics metrics;
  metrics.crls = {.fetches = 7, .fetch_failures = 2, .cache_hits = 40};
  std::string text = RevocationMetricsText(metrics, kNow);
  EXPECT_THAT(text,
              HasSubstr("# TYPE signet_crl_fetches_total counter\nsignet_crl_fetches_total 7\n"));
  EXPECT_THAT(text, HasSubstr("signet_crl_fetch_failures_total 2\n"));
  EXPECT_THAT(text, HasSubstr("signet_crl_cache_hits_total 40\n"));
  EXPECT_THAT(text, Not(HasSubstr("signet_ocsp")));
  metrics.ocsp = OcspClient::Counters{.requests = 3, .failures = 1, .cache_hits = 9};
  text = RevocationMetricsText(metrics, kNow);
  EXPECT_THAT(text, HasSubstr("signet_ocsp_requests_total 3\n"));
  EXPECT_THAT(text, HasSubstr("signet_ocsp_cache_hits_total 9\n"));
}

TEST(RevocationMetricsTest, LabelValuesAreEscaped) {
  EXPECT_EQ(PrometheusLabelValue("file /crl/a\"b\\c\nd"), "file /crl/a\\\"b\\\\c\\nd");
}

}  // namespace
}  // namespace signet::pki
