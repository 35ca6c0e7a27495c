// gRPC's own limits on signetd's server, from the config's limits: the
// memory its connections' buffers may use (a ResourceQuota), the calls one
// connection may have open, and keepalive both ways (dead peers are found
// and their calls ended; clients that ping too often are sent away).
#ifndef SIGNET_APPLIANCE_SERVER_SERVER_LIMITS_H_
#define SIGNET_APPLIANCE_SERVER_SERVER_LIMITS_H_

#include <grpcpp/server_builder.h>

#include "appliance/server/config/config_defaults.h"

namespace signet::server {

// Fixed, documented in docs/operations.md.
// Idle connections are pinged this often, and closed if the ping is not
// answered within the timeout: a client that vanished (power, network)
// does not hold its calls' buffers until TCP gives up hours later.
inline constexpr int kKeepaliveTimeMs = 60 * 1000;
inline constexpr int kKeepaliveTimeoutMs = 20 * 1000;
// Clients may ping at most this often; more is a misbehaving client, and
// after two such pings its connection is closed (gRPC's "ping strikes").
inline constexpr int kMinClientPingIntervalMs = 10 * 1000;
inline constexpr int kMaxPingStrikes = 2;
// A connection without calls for this long is closed (the client reconnects
// when it next calls).
inline constexpr int kMaxConnectionIdleMs = 5 * 60 * 1000;
// The largest single message: a header with its recipient certificates; a
// chunk is 64 KiB.
inline constexpr int kMaxReceiveMessageBytes = 4 << 20;

void ApplyServerLimits(grpc::ServerBuilder& builder, const EffectiveLimitValues& limits);

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_SERVER_LIMITS_H_
