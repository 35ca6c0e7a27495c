#include "appliance/server/work_queue.h"

#include <atomic>
#include <future>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::server {
namespace {

using ::signet::matchers::IsOk;

absl::Time Later() { return absl::Now() + absl::Seconds(30); }

TEST(WorkQueueTest, RunsEveryTaskOnItsWorkers) {
  WorkQueue queue("token", 3, 100);
  std::atomic<int> ran{0};
  std::vector<std::promise<void>> done(50);
  for (int i = 0; i < 50; ++i) {
    ASSERT_THAT(queue.Submit(Later(),
                             [&, i](absl::Status start) {
                               EXPECT_THAT(start, IsOk());
                               ++ran;
                               done[i].set_value();
                             }),
                IsOk());
  }
  for (auto& d : done) d.get_future().wait();
  EXPECT_EQ(ran.load(), 50);
}

TEST(WorkQueueTest, FullQueueRefusesAtOnce) {
  WorkQueue queue("smartcard", 1, 2);
  absl::Notification release;
  absl::Notification started;
  std::atomic<int> ran{0};
  ASSERT_THAT(queue.Submit(Later(),
                           [&](absl::Status) {
                             started.Notify();
                             release.WaitForNotification();
                             ++ran;
                           }),
              IsOk());
  started.WaitForNotification();
  // One running, two may wait, the fourth is refused.
  EXPECT_THAT(queue.Submit(Later(), [&](absl::Status) { ++ran; }), IsOk());
  EXPECT_THAT(queue.Submit(Later(), [&](absl::Status) { ++ran; }), IsOk());
  absl::Status refused = queue.Submit(Later(), [&](absl::Status) { ++ran; });
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(queue.running(), 1);
  EXPECT_EQ(queue.queued(), 2);
  release.Notify();
  while (ran.load() < 3) absl::SleepFor(absl::Milliseconds(1));
  EXPECT_EQ(ran.load(), 3);
}

TEST(WorkQueueTest, TaskWhoseDeadlinePassedInTheQueueIsNotStarted) {
  WorkQueue queue("smartcard", 1, 10);
  absl::Notification release;
  ASSERT_THAT(queue.Submit(Later(), [&](absl::Status) { release.WaitForNotification(); }), IsOk());
  std::promise<absl::Status> late;
  ASSERT_THAT(queue.Submit(absl::Now() + absl::Milliseconds(20),
                           [&](absl::Status start) { late.set_value(start); }),
              IsOk());
  absl::SleepFor(absl::Milliseconds(50));
  release.Notify();
  EXPECT_EQ(late.get_future().get().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(WorkQueueTest, ShutdownRefusesNewTasksButFinishesQueuedOnes) {
  std::atomic<int> ran{0};
  {
    WorkQueue queue("token", 1, 10);
    absl::Notification release;
    ASSERT_THAT(queue.Submit(Later(),
                             [&](absl::Status) {
                               release.WaitForNotification();
                               ++ran;
                             }),
                IsOk());
    for (int i = 0; i < 3; ++i) {
      ASSERT_THAT(queue.Submit(Later(), [&](absl::Status start) { ran += start.ok(); }), IsOk());
    }
    queue.Shutdown();
    EXPECT_EQ(queue.Submit(Later(), [&](absl::Status) { ++ran; }).code(),
              absl::StatusCode::kUnavailable);
    release.Notify();
  }  // the destructor joins after the queue drained
  EXPECT_EQ(ran.load(), 4);
}

}  // namespace
}  // namespace signet::server
