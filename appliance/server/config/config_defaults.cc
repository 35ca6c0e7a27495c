#include "appliance/server/config/config_defaults.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "appliance/cms/limits.h"
#include "appliance/server/config/token_profiles.h"

namespace signet::server {

using config::v1::Config;
using config::v1::Limits;
using config::v1::Token;

// The config's zero values and the CMS engine must mean the same thing.
static_assert(kDefaultMaxMessageBytes == cms::Limits{}.max_message_bytes);
static_assert(kDefaultMaxMimeDepth == cms::Limits{}.max_mime_depth);
static_assert(kDefaultMaxAsn1Depth == cms::Limits{}.max_asn1_depth);

int DefaultMaxInFlight() { return kDefaultMaxInFlight; }

int EffectiveMaxInFlight(const Token& token) {
  if (token.max_in_flight() == 0) {
    const TokenProfileInfo* profile = FindTokenProfile(token.profile());
    return profile != nullptr ? profile->max_in_flight : kDefaultMaxInFlight;
  }
  return static_cast<int>(std::min<std::uint32_t>(token.max_in_flight(), kMaxInFlightLimit));
}

int EffectiveMaxQueue(const Token& token) {
  if (token.max_queue() == 0) return kDefaultQueuePerInFlight * EffectiveMaxInFlight(token);
  return static_cast<int>(std::min<std::uint32_t>(token.max_queue(), kMaxQueueLimit));
}

std::uint64_t HostMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page_size <= 0) return 0;
  return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page_size);
}

EffectiveLimitValues EffectiveLimits(const Config& config, std::uint64_t host_memory_bytes) {
  const Limits& limits = config.limits();
  EffectiveLimitValues values;
  values.max_message_bytes = limits.max_message_bytes() != 0
                                 ? std::min(limits.max_message_bytes(), kMaxMessageBytesLimit)
                                 : kDefaultMaxMessageBytes;
  values.max_mime_depth =
      limits.max_mime_depth() != 0
          ? static_cast<int>(std::min<std::uint32_t>(limits.max_mime_depth(), kMaxMimeDepthLimit))
          : kDefaultMaxMimeDepth;
  values.max_asn1_depth =
      limits.max_asn1_depth() != 0
          ? static_cast<int>(std::min<std::uint32_t>(limits.max_asn1_depth(), kMaxAsn1DepthLimit))
          : kDefaultMaxAsn1Depth;
  const double rate = limits.requests_per_second();
  if (std::isfinite(rate) && rate > 0) {
    values.requests_per_second = rate;
    values.burst = static_cast<int>(std::min(limits.burst(), kMaxBurst));
  } else {
    values.requests_per_second = 0;
    values.burst = 0;
  }
  if (limits.max_buffered_bytes() != 0) {
    values.max_buffered_bytes = std::max(limits.max_buffered_bytes(), values.max_message_bytes);
  } else {
    const std::uint64_t share = host_memory_bytes != 0
                                    ? host_memory_bytes / kDefaultBufferedShareOfHostMemory
                                    : kFallbackMaxBufferedBytes;
    values.max_buffered_bytes = std::max(share, values.max_message_bytes);
  }
  values.max_caller_buffered_bytes =
      limits.max_caller_buffered_bytes() != 0
          ? std::min(std::max(limits.max_caller_buffered_bytes(), values.max_message_bytes),
                     values.max_buffered_bytes)
          : std::max(values.max_buffered_bytes / 2, values.max_message_bytes);
  values.upload_idle_timeout_seconds =
      limits.upload_idle_timeout_seconds() != 0
          ? static_cast<int>(
                std::min(limits.upload_idle_timeout_seconds(), kMaxUploadIdleTimeoutSeconds))
          : kDefaultUploadIdleTimeoutSeconds;
  values.max_streams_per_connection =
      limits.max_streams_per_connection() != 0
          ? static_cast<int>(
                std::min(limits.max_streams_per_connection(), kMaxStreamsPerConnectionLimit))
          : kDefaultMaxStreamsPerConnection;
  values.grpc_memory_bytes = limits.grpc_memory_bytes() != 0
                                 ? std::max(limits.grpc_memory_bytes(), kMinGrpcMemoryBytes)
                                 : kDefaultGrpcMemoryBytes;
  values.shutdown_grace_seconds =
      limits.shutdown_grace_seconds() != 0
          ? static_cast<int>(std::min(limits.shutdown_grace_seconds(), kMaxShutdownGraceSeconds))
          : kDefaultShutdownGraceSeconds;
  return values;
}

}  // namespace signet::server
