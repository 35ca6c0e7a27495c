#include "appliance/pki/crl_freshness.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"

namespace signet::pki {

std::vector<CrlSourceState> StaleSources(const std::vector<CrlSourceState>& sources, absl::Time now,
                                         absl::Duration bound) {
  std::vector<CrlSourceState> stale;
  for (const CrlSourceState& source : sources) {
    // Without a CRL, the source is stale since it first failed; a CRL
    // without nextUpdate never expires by itself (the store fetches it
    // again after its maximum age).
    const std::optional<absl::Time> since =
        source.this_update.has_value() ? source.next_update : source.failing_since;
    if (since.has_value() && now - *since > bound) stale.push_back(source);
  }
  return stale;
}

std::string DescribeStale(const CrlSourceState& source, absl::Time now) {
  auto rounded = [](absl::Duration d) {
    return absl::FormatDuration(absl::Trunc(d, absl::Seconds(1)));
  };
  if (source.this_update.has_value() && source.next_update.has_value()) {
    return absl::StrCat(
        source.source, ": CRL past its nextUpdate by ", rounded(now - *source.next_update),
        " (thisUpdate ",
        absl::FormatTime(absl::RFC3339_sec, *source.this_update, absl::UTCTimeZone()), ")",
        source.failure.empty() ? "" : "; fetching fails: ", source.failure);
  }
  return absl::StrCat(
      source.source, ": no CRL, failing for ", rounded(now - source.failing_since.value_or(now)),
      source.failure.empty() ? "" : " (", source.failure, source.failure.empty() ? "" : ")");
}

bool CrlFreshness::Fresh() {
  const absl::Time now = absl::Now();
  const std::vector<CrlSourceState> stale = StaleSources(store_->Sources(), now, bound_);
  std::set<std::string> names;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const CrlSourceState& source : stale) {
    names.insert(source.source);
    if (stale_.count(source.source) == 0) {
      Log(LogLevel::kWarning,
          absl::StrCat("revocation: stale CRL source ", DescribeStale(source, now),
                       "; health signet.revocation is NOT_SERVING"));
    }
  }
  for (const std::string& name : stale_) {
    if (names.count(name) == 0) {
      Log(LogLevel::kInfo, absl::StrCat("revocation: CRL source ", name, " is current again"));
    }
  }
  stale_ = std::move(names);
  return stale_.empty();
}

}  // namespace signet::pki
