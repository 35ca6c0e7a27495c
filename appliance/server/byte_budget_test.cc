#include "appliance/server/byte_budget.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::server {
namespace {

using ::signet::matchers::IsOk;

using ::testing::HasSubstr;

TEST(ByteBudgetTest, ChunksDrawOnTheBudgetAndLeasesGiveItBack) {
  ByteBudget budget(1000, 600);
  {
    ByteBudget::Lease lease = budget.Open("mx");
    EXPECT_THAT(lease.Grow(200), IsOk());
    EXPECT_THAT(lease.Grow(300), IsOk());
    EXPECT_EQ(lease.held(), 500u);
    EXPECT_EQ(budget.used(), 500u);
    EXPECT_EQ(budget.used_by("mx"), 500u);
  }
  EXPECT_EQ(budget.used(), 0u);
  EXPECT_EQ(budget.used_by("mx"), 0u);
}

TEST(ByteBudgetTest, ACallerOverItsShareIsRefusedWhileOthersGoOn) {
  ByteBudget budget(1000, 600);
  ByteBudget::Lease first = budget.Open("mx");
  ByteBudget::Lease second = budget.Open("mx");
  ASSERT_THAT(first.Grow(400), IsOk());
  absl::Status refused = second.Grow(201);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.message(), HasSubstr("caller 'mx' already holds 400 bytes"));
  EXPECT_THAT(refused.message(), HasSubstr("max_caller_buffered_bytes"));
  // A refused chunk takes nothing.
  EXPECT_EQ(second.held(), 0u);
  EXPECT_EQ(budget.used(), 400u);
  EXPECT_THAT(second.Grow(200), IsOk());
  // Another caller has its own share.
  ByteBudget::Lease other = budget.Open("relay");
  EXPECT_THAT(other.Grow(400), IsOk());
}

TEST(ByteBudgetTest, TheDaemonsBudgetBoundsAllCallers) {
  ByteBudget budget(1000, 600);
  ByteBudget::Lease a = budget.Open("a");
  ByteBudget::Lease b = budget.Open("b");
  ASSERT_THAT(a.Grow(600), IsOk());
  absl::Status refused = b.Grow(401);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.message(), HasSubstr("buffers for calls in flight are full (600 of 1000"));
  EXPECT_THAT(b.Grow(400), IsOk());
  EXPECT_EQ(budget.used(), 1000u);
}

TEST(ByteBudgetTest, AResultMayGoOverButNewChunksWaitForTheBudgetToRecover) {
  ByteBudget budget(1000, 600);
  ByteBudget::Lease call = budget.Open("mx");
  ASSERT_THAT(call.Grow(500), IsOk());
  // The result is larger than the mail (a signature, base64).
  call.Resize(900);
  EXPECT_EQ(budget.used(), 900u);
  EXPECT_EQ(budget.used_by("mx"), 900u);
  ByteBudget::Lease next = budget.Open("mx");
  EXPECT_EQ(next.Grow(1).code(), absl::StatusCode::kResourceExhausted);
  ByteBudget::Lease other = budget.Open("relay");
  EXPECT_THAT(other.Grow(100), IsOk());
  EXPECT_EQ(other.Grow(1).code(), absl::StatusCode::kResourceExhausted);
  call.Resize(0);
  EXPECT_THAT(next.Grow(500), IsOk());
}

TEST(ByteBudgetTest, AMovedLeaseKeepsItsBytesOnce) {
  ByteBudget budget(1000, 1000);
  ByteBudget::Lease first = budget.Open("mx");
  ASSERT_THAT(first.Grow(100), IsOk());
  ByteBudget::Lease moved = std::move(first);
  EXPECT_EQ(moved.held(), 100u);
  ByteBudget::Lease assigned = budget.Open("mx");
  ASSERT_THAT(assigned.Grow(50), IsOk());
  assigned = std::move(moved);  // gives back its own 50
  EXPECT_EQ(budget.used(), 100u);
  assigned.Resize(0);
  EXPECT_EQ(budget.used(), 0u);
}

TEST(ByteBudgetTest, AnUnadmittedCallCannotTakeBytes) {
  ByteBudget::Lease nothing;
  EXPECT_EQ(nothing.Grow(1).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ByteBudgetTest, ConcurrentCallsNeverOvercommit) {
  ByteBudget budget(64 * 1024, 64 * 1024);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        ByteBudget::Lease lease = budget.Open("mx");
        for (int chunk = 0; chunk < 4; ++chunk) {
          if (!lease.Grow(4096).ok()) break;
        }
        if (budget.used() > budget.total()) failures.fetch_add(1);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(budget.used(), 0u);
}

}  // namespace
}  // namespace signet::server
