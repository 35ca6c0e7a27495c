// The defaults that the config's zero values stand for, and the bounds past
// which a value is a mistake, so that the validator, the daemon and the
// documentation take them from one place; and the config's values with the
// defaults applied.
#ifndef SIGNET_APPLIANCE_SERVER_CONFIG_DEFAULTS_H_
#define SIGNET_APPLIANCE_SERVER_CONFIG_DEFAULTS_H_

#include <cstdint>

#include "signet/config/v1/config.pb.h"

namespace signet::server {

// Token.max_in_flight when the config says 0 and the token has no profile.
// A small number that any token handles; network HSMs are configured
// higher, smartcards to 1 (a token profile's default).
int DefaultMaxInFlight();
// Upper bound of Token.max_in_flight: each operation in flight holds a
// session and a worker thread.
inline constexpr int kMaxInFlightLimit = 256;
// Token.max_queue when the config says 0: this many waiting operations per
// operation in flight.
inline constexpr int kDefaultQueuePerInFlight = 16;
inline constexpr int kMaxQueueLimit = 65536;

// A token's operations in flight and queue length with the defaults applied,
// its profile's included (the token must have passed ValidateConfig).
// The module path and pcsc with their defaults: token_profiles.h.
int EffectiveMaxInFlight(const config::v1::Token& token);
int EffectiveMaxQueue(const config::v1::Token& token);

// Config.limits with the defaults applied.
struct EffectiveLimitValues {
  std::uint64_t max_message_bytes;
  int max_mime_depth;
  int max_asn1_depth;
  // 0: unlimited.
  double requests_per_second;
  // Requests a caller may make at once after being idle; 0 when unlimited.
  int burst;
  // What mail calls in flight may hold, all together and per caller.
  std::uint64_t max_buffered_bytes;
  std::uint64_t max_caller_buffered_bytes;
  int upload_idle_timeout_seconds;
  int max_streams_per_connection;
  std::uint64_t grpc_memory_bytes;
  int shutdown_grace_seconds;
};
// `host_memory_bytes`: the host's physical memory, which the default byte
// budget is a fraction of (HostMemoryBytes() in the daemon).
EffectiveLimitValues EffectiveLimits(const config::v1::Config& config,
                                     std::uint64_t host_memory_bytes);
// The machine's physical memory (sysconf); 0 if it cannot be read.
std::uint64_t HostMemoryBytes();

// The defaults, the same as the CMS engine's (appliance/cms/limits.h).
inline constexpr std::uint64_t kDefaultMaxMessageBytes = std::uint64_t{64} << 20;
inline constexpr int kDefaultMaxMimeDepth = 32;
inline constexpr int kDefaultMaxAsn1Depth = 48;
// Audit.checkpoint_interval when the config says 0.
inline constexpr int kDefaultCheckpointInterval = 1000;
// Limits.max_buffered_bytes when the config says 0: the host's memory
// divided by this (and never less than max_message_bytes).
inline constexpr std::uint64_t kDefaultBufferedShareOfHostMemory = 4;
// The default budget when the host's memory cannot be read.
inline constexpr std::uint64_t kFallbackMaxBufferedBytes = std::uint64_t{1} << 30;
inline constexpr int kDefaultUploadIdleTimeoutSeconds = 30;
inline constexpr int kDefaultMaxStreamsPerConnection = 100;
inline constexpr std::uint64_t kDefaultGrpcMemoryBytes = std::uint64_t{256} << 20;
inline constexpr int kDefaultShutdownGraceSeconds = 30;

// What DefaultMaxInFlight() returns.
inline constexpr int kDefaultMaxInFlight = 4;

// Bounds past which a value is a mistake, not a choice.
// A mail is streamed, but an S/MIME mail of a GiB is not mail.
inline constexpr std::uint64_t kMaxMessageBytesLimit = std::uint64_t{1} << 30;
// The MIME walk recurses once per level, and the ASN.1 bound exists to keep
// OpenSSL's recursive decoder shallow; far above the defaults neither
// protects anything.
inline constexpr int kMaxMimeDepthLimit = 64;
inline constexpr int kMaxAsn1DepthLimit = 64;
inline constexpr double kMaxRequestsPerSecond = 1e6;
inline constexpr std::uint32_t kMaxBurst = 1000000;
inline constexpr std::uint32_t kMaxCheckpointInterval = 1000000;
// Past 10 ms the window adds more latency to every key operation than a
// token's signature takes; the syncs it saves are worth no more than that.
inline constexpr std::uint32_t kMaxGroupCommitWindowMicroseconds = 10000;
inline constexpr std::uint32_t kMaxUploadIdleTimeoutSeconds = 3600;
inline constexpr std::uint32_t kMaxShutdownGraceSeconds = 3600;
inline constexpr std::uint32_t kMaxStreamsPerConnectionLimit = 10000;
// gRPC needs room for its connections' read and write buffers at all.
inline constexpr std::uint64_t kMinGrpcMemoryBytes = std::uint64_t{16} << 20;

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_CONFIG_DEFAULTS_H_
