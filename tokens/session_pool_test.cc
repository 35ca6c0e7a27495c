#include "tokens/session_pool.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

// Hands out increasing handles and records what was closed; the pool is a
// data structure, so its tests need no token.
class PoolHarness {
 public:
  explicit PoolHarness(int max_in_flight)
      : pool(
            max_in_flight,
            [this]() -> absl::StatusOr<CK_SESSION_HANDLE> {
              if (fail_open.load()) return absl::UnavailableError("token gone");
              return next.fetch_add(1);
            },
            [this](CK_SESSION_HANDLE h) {
              std::lock_guard<std::mutex> lock(mutex);
              closed.push_back(h);
            }) {}

  std::vector<CK_SESSION_HANDLE> Closed() {
    std::lock_guard<std::mutex> lock(mutex);
    return closed;
  }

  std::atomic<CK_SESSION_HANDLE> next{1};
  std::atomic<bool> fail_open{false};
  std::mutex mutex;
  std::vector<CK_SESSION_HANDLE> closed;
  SessionPool pool;
};

absl::Time Soon() { return absl::Now() + absl::Seconds(10); }

TEST(SessionPoolTest, ReusesReturnedSessions) {
  PoolHarness h(2);
  CK_SESSION_HANDLE first;
  {
    absl::StatusOr<SessionLease> lease = h.pool.Acquire(Soon());
    ASSERT_THAT(lease, IsOk());
    first = lease->handle();
  }
  absl::StatusOr<SessionLease> again = h.pool.Acquire(Soon());
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->handle(), first);
  EXPECT_EQ(h.next.load(), 2u) << "a second session was opened although one was idle";
}

TEST(SessionPoolTest, BrokenSessionIsClosedNotReused) {
  PoolHarness h(2);
  CK_SESSION_HANDLE first;
  {
    absl::StatusOr<SessionLease> lease = h.pool.Acquire(Soon());
    ASSERT_THAT(lease, IsOk());
    first = lease->handle();
    lease->MarkBroken();
  }
  EXPECT_THAT(h.Closed(), ElementsAre(first));
  absl::StatusOr<SessionLease> again = h.pool.Acquire(Soon());
  ASSERT_THAT(again, IsOk());
  EXPECT_NE(again->handle(), first);
}

TEST(SessionPoolTest, LeaseIsMoveOnlyAndReturnsOnce) {
  PoolHarness h(1);
  absl::StatusOr<SessionLease> lease = h.pool.Acquire(Soon());
  ASSERT_THAT(lease, IsOk());
  SessionLease moved = std::move(*lease);
  EXPECT_FALSE(lease->valid());
  EXPECT_TRUE(moved.valid());
  EXPECT_EQ(h.pool.in_flight(), 1);
  moved.Release();
  EXPECT_EQ(h.pool.in_flight(), 0);
  EXPECT_EQ(h.pool.idle(), 1);
  moved.Release();  // a second release is harmless
  EXPECT_EQ(h.pool.idle(), 1);
}

TEST(SessionPoolTest, WaitersGiveUpAtTheirDeadline) {
  PoolHarness h(1);
  absl::StatusOr<SessionLease> held = h.pool.Acquire(Soon());
  ASSERT_THAT(held, IsOk());
  const absl::Time start = absl::Now();
  absl::StatusOr<SessionLease> late = h.pool.Acquire(start + absl::Milliseconds(100));
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(100));
  EXPECT_EQ(h.pool.waiting(), 0);
  EXPECT_EQ(h.pool.in_flight(), 1);
}

TEST(SessionPoolTest, NeverMoreThanMaxInFlight) {
  constexpr int kMax = 3;
  PoolHarness h(kMax);
  std::atomic<int> current{0};
  std::atomic<int> peak{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        absl::StatusOr<SessionLease> lease = h.pool.Acquire(Soon());
        ASSERT_THAT(lease, IsOk());
        int now = current.fetch_add(1) + 1;
        int seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::yield();
        current.fetch_sub(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(peak.load(), kMax);
  EXPECT_LE(h.next.load() - 1, static_cast<CK_SESSION_HANDLE>(kMax));
  EXPECT_EQ(h.pool.in_flight(), 0);
}

TEST(SessionPoolTest, WaitersAreServedInArrivalOrder) {
  PoolHarness h(1);
  absl::StatusOr<SessionLease> held = h.pool.Acquire(Soon());
  ASSERT_THAT(held, IsOk());
  std::mutex order_mutex;
  std::vector<int> order;
  std::vector<std::thread> threads;
  for (int i = 0; i < 5; ++i) {
    threads.emplace_back([&, i] {
      absl::StatusOr<SessionLease> lease = h.pool.Acquire(Soon());
      ASSERT_THAT(lease, IsOk());
      std::lock_guard<std::mutex> lock(order_mutex);
      order.push_back(i);
    });
    // Each waiter is queued before the next one starts.
    while (h.pool.waiting() != i + 1) std::this_thread::yield();
  }
  held->Release();
  for (auto& t : threads) t.join();
  EXPECT_THAT(order, ElementsAre(0, 1, 2, 3, 4));
}

TEST(SessionPoolTest, InvalidateDropsIdleNowAndLeasedOnReturn) {
  PoolHarness h(3);
  absl::StatusOr<SessionLease> a = h.pool.Acquire(Soon());
  absl::StatusOr<SessionLease> b = h.pool.Acquire(Soon());
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  const CK_SESSION_HANDLE ha = a->handle(), hb = b->handle();
  a->Release();  // idle
  const uint64_t epoch = b->epoch();
  EXPECT_TRUE(h.pool.Invalidate(epoch));
  EXPECT_FALSE(h.pool.Invalidate(epoch)) << "the same fault must invalidate once";
  EXPECT_THAT(h.Closed(), ElementsAre(ha));
  b->Release();
  EXPECT_THAT(h.Closed(), UnorderedElementsAre(ha, hb));
  EXPECT_EQ(h.pool.idle(), 0);
  absl::StatusOr<SessionLease> fresh = h.pool.Acquire(Soon());
  ASSERT_THAT(fresh, IsOk());
  EXPECT_GT(fresh->epoch(), epoch);
}

TEST(SessionPoolTest, FailedOpenFreesThePermit) {
  PoolHarness h(1);
  h.fail_open = true;
  EXPECT_EQ(h.pool.Acquire(Soon()).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(h.pool.in_flight(), 0);
  h.fail_open = false;
  EXPECT_THAT(h.pool.Acquire(Soon()), IsOk());
}

TEST(SessionPoolTest, FailedOpenHandsThePermitToAWaiter) {
  PoolHarness h(1);
  absl::StatusOr<SessionLease> held = h.pool.Acquire(Soon());
  ASSERT_THAT(held, IsOk());
  held->MarkBroken();  // no idle session left: the waiter must open one
  absl::Notification done;
  absl::StatusOr<SessionLease> waited = absl::UnknownError("not run");
  std::thread waiter([&] {
    waited = h.pool.Acquire(Soon());
    done.Notify();
  });
  while (h.pool.waiting() != 1) std::this_thread::yield();
  held->Release();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  waiter.join();
  EXPECT_THAT(waited, IsOk());
}

TEST(SessionPoolTest, AdoptKeepsAProbeSessionIdle) {
  PoolHarness h(2);
  h.pool.Adopt(77);
  EXPECT_EQ(h.pool.idle(), 1);
  absl::StatusOr<SessionLease> lease = h.pool.Acquire(Soon());
  ASSERT_THAT(lease, IsOk());
  EXPECT_EQ(lease->handle(), 77u);
}

}  // namespace
}  // namespace signet
