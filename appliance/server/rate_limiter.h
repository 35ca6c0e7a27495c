// Per-caller request rates (a token bucket each), so that one caller cannot
// use a token's whole capacity, or turn decryption into a fast oracle.
#ifndef SIGNET_APPLIANCE_SERVER_RATE_LIMITER_H_
#define SIGNET_APPLIANCE_SERVER_RATE_LIMITER_H_

#include <map>
#include <mutex>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace signet::server {

class RateLimiter {
 public:
  // requests_per_second <= 0: unlimited. burst: the requests a caller may
  // make at once after being idle (at least 1).
  RateLimiter(double requests_per_second, int burst);

  // Takes one request from the caller's bucket; false when it is empty.
  bool TryAcquire(absl::string_view caller, absl::Time now);

 private:
  struct Bucket {
    double tokens;
    absl::Time refilled;
  };

  const double rate_;
  const double burst_;
  std::mutex mutex_;
  std::map<std::string, Bucket, std::less<>> buckets_;
};

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_RATE_LIMITER_H_
