// Whether revocation checking works from current CRLs: the health entry
// "signet.revocation" is SERVING while no CRL source has been stale (its
// CRL past nextUpdate, or never answered) for longer than a bound. A
// responder down for a minute is normal; a CA whose CRL nobody could fetch
// for an hour means `prefer` anchors are passing certificates unchecked and
// `require` anchors are refusing mail, which an operator must hear about.
#ifndef SIGNET_APPLIANCE_PKI_CRL_FRESHNESS_H_
#define SIGNET_APPLIANCE_PKI_CRL_FRESHNESS_H_

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "appliance/pki/crl_store.h"

namespace signet::pki {

// The sources whose CRL is past its nextUpdate, or which never answered,
// for longer than `bound` at `now`.
std::vector<CrlSourceState> StaleSources(const std::vector<CrlSourceState>& sources, absl::Time now,
                                         absl::Duration bound);

// "http://crl.bank.example/ca.crl: CRL past its nextUpdate by 2h (thisUpdate
// 2026-12-01T10:00:00Z)"; "...: no CRL, failing for 1h5m (connection
// refused)". For the log: URLs and file names, never certificate content.
std::string DescribeStale(const CrlSourceState& source, absl::Time now);

class CrlFreshness {
 public:
  CrlFreshness(std::shared_ptr<CrlStore> store, absl::Duration bound)
      : store_(std::move(store)), bound_(bound) {}

  // True while no source is stale. Logs each source when it turns stale
  // (a warning) and when it is fresh again, once per change.
  bool Fresh();

 private:
  const std::shared_ptr<CrlStore> store_;
  const absl::Duration bound_;
  std::mutex mutex_;
  std::set<std::string> stale_;  // as last logged
};

}  // namespace signet::pki

#endif  // SIGNET_APPLIANCE_PKI_CRL_FRESHNESS_H_
