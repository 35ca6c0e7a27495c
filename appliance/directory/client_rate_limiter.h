// Per-client request rates for the public endpoint: a token bucket per
// client address, in a table of bounded size. Unlike server::RateLimiter
// (callers there are the bank's own authenticated clients, a short list),
// anyone on the Internet may ask here, and each new source address would
// otherwise add a bucket: the least recently seen client is forgotten when
// the table is full. A forgotten client starts again with a full bucket,
// which is what it would have after being idle; an attacker who sprays
// from more addresses than the table holds gains no more than those many
// addresses would give it anyway, and costs bounded memory.
#ifndef SIGNET_APPLIANCE_DIRECTORY_CLIENT_RATE_LIMITER_H_
#define SIGNET_APPLIANCE_DIRECTORY_CLIENT_RATE_LIMITER_H_

#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace signet::directory {

class ClientRateLimiter {
 public:
  // requests_per_second > 0; burst >= 1: the requests a client may make at
  // once after being idle; max_clients >= 1.
  ClientRateLimiter(double requests_per_second, int burst, size_t max_clients);

  // Zero when the client's bucket had a request left (and it is taken);
  // otherwise how long until it has one (nothing is taken).
  absl::Duration Acquire(absl::string_view client, absl::Time now);

  // The clients tracked now (at most max_clients).
  size_t tracked_clients() const;

 private:
  struct Bucket {
    std::string client;
    double tokens;
    absl::Time refilled;
  };
  using Recency = std::list<Bucket>;  // most recently seen first

  const double rate_;
  const double burst_;
  const size_t max_clients_;
  mutable std::mutex mutex_;
  Recency recency_;
  std::unordered_map<std::string, Recency::iterator> by_client_;
};

}  // namespace signet::directory

#endif  // SIGNET_APPLIANCE_DIRECTORY_CLIENT_RATE_LIMITER_H_
