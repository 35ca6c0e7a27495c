#include "appliance/server/rate_limiter.h"

#include <algorithm>

namespace signet::server {

RateLimiter::RateLimiter(double requests_per_second, int burst)
    : rate_(requests_per_second), burst_(std::max(1, burst)) {}

bool RateLimiter::TryAcquire(absl::string_view caller, absl::Time now) {
  if (rate_ <= 0) return true;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = buckets_.find(caller);
  if (it == buckets_.end()) {
    it = buckets_.emplace(std::string(caller), Bucket{burst_, now}).first;
  }
  Bucket& bucket = it->second;
  const double elapsed = std::max(0.0, absl::ToDoubleSeconds(now - bucket.refilled));
  bucket.tokens = std::min(burst_, bucket.tokens + elapsed * rate_);
  bucket.refilled = std::max(bucket.refilled, now);
  if (bucket.tokens < 1.0) return false;
  bucket.tokens -= 1.0;
  return true;
}

}  // namespace signet::server
