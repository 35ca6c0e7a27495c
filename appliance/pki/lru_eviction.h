// The eviction both revocation caches use (CRLs by distribution point, OCSP
// answers by certificate): entries carry a `last_used` stamp from a counter
// the cache bumps on each use, and the least recently used go first. A
// linear scan: the caches hold hundreds to a few thousand entries and evict
// only when a new one arrives over the bound.
#ifndef SIGNET_APPLIANCE_PKI_LRU_EVICTION_H_
#define SIGNET_APPLIANCE_PKI_LRU_EVICTION_H_

#include <cstddef>

namespace signet::pki {

// Erases from `entries` (a map whose values have `last_used`) until at
// most `max_entries` remain.
template <typename Map>
void EvictLeastRecentlyUsed(Map& entries, size_t max_entries) {
  while (entries.size() > max_entries) {
    auto oldest = entries.begin();
    for (auto it = entries.begin(); it != entries.end(); ++it) {
      if (it->second.last_used < oldest->second.last_used) oldest = it;
    }
    entries.erase(oldest);
  }
}

}  // namespace signet::pki

#endif  // SIGNET_APPLIANCE_PKI_LRU_EVICTION_H_
