#include "appliance/directory/client_rate_limiter.h"

#include <algorithm>

namespace signet::directory {

ClientRateLimiter::ClientRateLimiter(double requests_per_second, int burst, size_t max_clients)
    : rate_(requests_per_second > 0 ? requests_per_second : 1e-9),
      burst_(std::max(1, burst)),
      max_clients_(std::max<size_t>(1, max_clients)) {}

absl::Duration ClientRateLimiter::Acquire(absl::string_view client, absl::Time now) {
  std::lock_guard<std::mutex> lock(mutex_);
  // std::unordered_map has no heterogeneous find in C++20's libstdc++ 12.
  const std::string key(client);
  auto found = by_client_.find(key);
  if (found == by_client_.end()) {
    if (by_client_.size() >= max_clients_) {
      by_client_.erase(recency_.back().client);
      recency_.pop_back();
    }
    recency_.push_front(Bucket{key, burst_, now});
    found = by_client_.emplace(key, recency_.begin()).first;
  } else {
    recency_.splice(recency_.begin(), recency_, found->second);
  }
  Bucket& bucket = *found->second;
  const double elapsed = std::max(0.0, absl::ToDoubleSeconds(now - bucket.refilled));
  bucket.tokens = std::min(burst_, bucket.tokens + elapsed * rate_);
  bucket.refilled = std::max(bucket.refilled, now);
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return absl::ZeroDuration();
  }
  return absl::Seconds((1.0 - bucket.tokens) / rate_);
}

size_t ClientRateLimiter::tracked_clients() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return by_client_.size();
}

}  // namespace signet::directory
