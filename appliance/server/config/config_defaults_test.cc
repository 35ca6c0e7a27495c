#include "appliance/server/config/config_defaults.h"

#include "gtest/gtest.h"

namespace signet::server {
namespace {

using config::v1::Config;

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kGiB = uint64_t{1} << 30;

TEST(EffectiveLimitsTest, Defaults) {
  EffectiveLimitValues limits = EffectiveLimits(Config(), 16 * kGiB);
  EXPECT_EQ(limits.max_message_bytes, uint64_t{64} << 20);
  EXPECT_EQ(limits.max_mime_depth, 32);
  EXPECT_EQ(limits.max_asn1_depth, 48);
  EXPECT_EQ(limits.requests_per_second, 0);
  EXPECT_EQ(limits.burst, 0);
  // A quarter of the host's memory, half of that per caller.
  EXPECT_EQ(limits.max_buffered_bytes, 4 * kGiB);
  EXPECT_EQ(limits.max_caller_buffered_bytes, 2 * kGiB);
  EXPECT_EQ(limits.upload_idle_timeout_seconds, 30);
  EXPECT_EQ(limits.max_streams_per_connection, 100);
  EXPECT_EQ(limits.grpc_memory_bytes, 256 * kMiB);
  EXPECT_EQ(limits.shutdown_grace_seconds, 30);
}

TEST(EffectiveLimitsTest, DefaultBudgetNeverRefusesTheLargestMail) {
  // A quarter of 128 MiB is 32 MiB, less than one 64 MiB mail.
  EffectiveLimitValues limits = EffectiveLimits(Config(), 128 * kMiB);
  EXPECT_EQ(limits.max_buffered_bytes, 64 * kMiB);
  EXPECT_EQ(limits.max_caller_buffered_bytes, 64 * kMiB);
  // Host memory unknown: a fixed budget.
  EXPECT_EQ(EffectiveLimits(Config(), 0).max_buffered_bytes, kGiB);
}

TEST(EffectiveLimitsTest, HostMemoryIsRead) { EXPECT_GT(HostMemoryBytes(), 64 * kMiB); }

TEST(EffectiveLimitsTest, ConfiguredValues) {
  Config config;
  config.mutable_limits()->set_max_message_bytes(1000);
  config.mutable_limits()->set_max_mime_depth(5);
  config.mutable_limits()->set_max_asn1_depth(20);
  config.mutable_limits()->set_requests_per_second(2.5);
  config.mutable_limits()->set_burst(7);
  config.mutable_limits()->set_max_buffered_bytes(50000);
  config.mutable_limits()->set_max_caller_buffered_bytes(20000);
  config.mutable_limits()->set_upload_idle_timeout_seconds(5);
  config.mutable_limits()->set_max_streams_per_connection(8);
  config.mutable_limits()->set_grpc_memory_bytes(32 * kMiB);
  config.mutable_limits()->set_shutdown_grace_seconds(2);
  EffectiveLimitValues limits = EffectiveLimits(config, 16 * kGiB);
  EXPECT_EQ(limits.max_message_bytes, 1000u);
  EXPECT_EQ(limits.max_mime_depth, 5);
  EXPECT_EQ(limits.max_asn1_depth, 20);
  EXPECT_EQ(limits.requests_per_second, 2.5);
  EXPECT_EQ(limits.burst, 7);
  EXPECT_EQ(limits.max_buffered_bytes, 50000u);
  EXPECT_EQ(limits.max_caller_buffered_bytes, 20000u);
  EXPECT_EQ(limits.upload_idle_timeout_seconds, 5);
  EXPECT_EQ(limits.max_streams_per_connection, 8);
  EXPECT_EQ(limits.grpc_memory_bytes, 32 * kMiB);
  EXPECT_EQ(limits.shutdown_grace_seconds, 2);
}

}  // namespace
}  // namespace signet::server
