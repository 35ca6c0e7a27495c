#include "appliance/server/idle_call_watch.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace signet::server {
namespace {

constexpr absl::Duration kTimeout = absl::Milliseconds(300);

TEST(IdleCallWatchTest, ACallThatReceivesNothingIsEndedOnce) {
  IdleCallWatch watch(kTimeout);
  std::atomic<int> ended{0};
  absl::Notification done;
  const absl::Time start = absl::Now();
  std::shared_ptr<CallProgress> call = watch.Watch([&] {
    ended.fetch_add(1);
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_GE(absl::Now() - start, kTimeout);
  // The watch claimed the end: the call cannot claim it again, and a late
  // chunk is not taken.
  EXPECT_FALSE(call->ClaimEnd());
  EXPECT_FALSE(call->Pause());
  absl::SleepFor(3 * kTimeout);
  EXPECT_EQ(ended.load(), 1);
  EXPECT_EQ(watch.expired(), 1);
}

TEST(IdleCallWatchTest, ChunksKeepACallAlive) {
  IdleCallWatch watch(kTimeout);
  std::atomic<int> ended{0};
  std::shared_ptr<CallProgress> call = watch.Watch([&] { ended.fetch_add(1); });
  for (int i = 0; i < 12; ++i) {
    absl::SleepFor(kTimeout / 4);
    ASSERT_TRUE(call->Pause());
    call->Resume();
  }
  EXPECT_EQ(ended.load(), 0);
  EXPECT_TRUE(call->ClaimEnd());
}

TEST(IdleCallWatchTest, ACallAtWorkIsNotIdle) {
  IdleCallWatch watch(kTimeout);
  std::atomic<int> ended{0};
  std::shared_ptr<CallProgress> call = watch.Watch([&] { ended.fetch_add(1); });
  ASSERT_TRUE(call->Pause());
  absl::SleepFor(4 * kTimeout);
  EXPECT_EQ(ended.load(), 0);
  // Waiting for its client again, the idle time starts afresh.
  call->Resume();
  absl::SleepFor(kTimeout / 2);
  EXPECT_EQ(ended.load(), 0);
  absl::SleepFor(3 * kTimeout);
  EXPECT_EQ(ended.load(), 1);
}

TEST(IdleCallWatchTest, ACallEndedByItselfIsNeverEndedByTheWatch) {
  IdleCallWatch watch(kTimeout);
  std::atomic<int> ended{0};
  std::shared_ptr<CallProgress> call = watch.Watch([&] { ended.fetch_add(1); });
  EXPECT_TRUE(call->ClaimEnd());
  EXPECT_FALSE(call->ClaimEnd());
  absl::SleepFor(3 * kTimeout);
  EXPECT_EQ(ended.load(), 0);
  EXPECT_EQ(watch.expired(), 0);
}

TEST(IdleCallWatchTest, AGoneCallIsForgotten) {
  std::atomic<int> ended{0};
  {
    IdleCallWatch watch(kTimeout);
    watch.Watch([&] { ended.fetch_add(1); }).reset();
    absl::SleepFor(3 * kTimeout);
  }
  EXPECT_EQ(ended.load(), 0);
}

}  // namespace
}  // namespace signet::server
