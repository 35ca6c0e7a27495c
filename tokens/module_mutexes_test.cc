#include "tokens/module_mutexes.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "gtest/gtest.h"

namespace signet {
namespace {

struct Callbacks {
  CK_C_INITIALIZE_ARGS args{};
  Callbacks() { UseModuleMutexes(args); }
};

TEST(ModuleMutexesTest, EveryCallbackIsSet) {
  Callbacks c;
  EXPECT_NE(c.args.CreateMutex, nullptr);
  EXPECT_NE(c.args.DestroyMutex, nullptr);
  EXPECT_NE(c.args.LockMutex, nullptr);
  EXPECT_NE(c.args.UnlockMutex, nullptr);
}

// OpenSC re-locks a mutex its thread already holds when a card leaves
// mid-operation; the thread must go on.
TEST(ModuleMutexesTest, TheHoldingThreadMayLockAgain) {
  Callbacks c;
  void* mutex = nullptr;
  ASSERT_EQ(c.args.CreateMutex(&mutex), CKR_OK);
  ASSERT_NE(mutex, nullptr);
  EXPECT_EQ(c.args.LockMutex(mutex), CKR_OK);
  EXPECT_EQ(c.args.LockMutex(mutex), CKR_OK);
  EXPECT_TRUE(ThreadHoldsModuleMutexes());
  EXPECT_EQ(c.args.UnlockMutex(mutex), CKR_OK);
  EXPECT_TRUE(ThreadHoldsModuleMutexes());
  EXPECT_EQ(c.args.UnlockMutex(mutex), CKR_OK);
  EXPECT_FALSE(ThreadHoldsModuleMutexes());
  EXPECT_EQ(ReleaseModuleMutexesOfThisThread(), 0u);
  EXPECT_EQ(c.args.DestroyMutex(mutex), CKR_OK);
}

TEST(ModuleMutexesTest, OtherThreadsWaitUntilEveryLockIsReleased) {
  Callbacks c;
  void* mutex = nullptr;
  ASSERT_EQ(c.args.CreateMutex(&mutex), CKR_OK);
  ASSERT_EQ(c.args.LockMutex(mutex), CKR_OK);
  ASSERT_EQ(c.args.LockMutex(mutex), CKR_OK);
  std::atomic<bool> acquired{false};
  std::thread other([&] {
    c.args.LockMutex(mutex);
    acquired = true;
    c.args.UnlockMutex(mutex);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(acquired);
  ASSERT_EQ(c.args.UnlockMutex(mutex), CKR_OK);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(acquired) << "taken while still locked once";
  ASSERT_EQ(c.args.UnlockMutex(mutex), CKR_OK);
  other.join();
  EXPECT_TRUE(acquired);
  EXPECT_EQ(c.args.DestroyMutex(mutex), CKR_OK);
}

// What OpenSC 0.23 does when a card leaves: returns with a lock still held.
TEST(ModuleMutexesTest, LeakedLocksAreTakenBackAndOtherThreadsGoOn) {
  Callbacks c;
  void* first = nullptr;
  void* second = nullptr;
  ASSERT_EQ(c.args.CreateMutex(&first), CKR_OK);
  ASSERT_EQ(c.args.CreateMutex(&second), CKR_OK);
  ASSERT_EQ(c.args.LockMutex(first), CKR_OK);
  ASSERT_EQ(c.args.LockMutex(first), CKR_OK);
  ASSERT_EQ(c.args.LockMutex(second), CKR_OK);
  EXPECT_EQ(ReleaseModuleMutexesOfThisThread(), 3u);
  EXPECT_FALSE(ThreadHoldsModuleMutexes());
  std::atomic<int> acquired{0};
  std::thread other([&] {
    for (void* mutex : {first, second}) {
      c.args.LockMutex(mutex);
      ++acquired;
      c.args.UnlockMutex(mutex);
    }
  });
  other.join();
  EXPECT_EQ(acquired, 2);
  EXPECT_EQ(c.args.DestroyMutex(first), CKR_OK);
  EXPECT_EQ(c.args.DestroyMutex(second), CKR_OK);
}

TEST(ModuleMutexesTest, AThreadCannotUnlockAnotherThreadsLock) {
  Callbacks c;
  void* mutex = nullptr;
  ASSERT_EQ(c.args.CreateMutex(&mutex), CKR_OK);
  ASSERT_EQ(c.args.LockMutex(mutex), CKR_OK);
  CK_RV from_other = CKR_OK;
  std::thread other([&] { from_other = c.args.UnlockMutex(mutex); });
  other.join();
  EXPECT_EQ(from_other, CKR_MUTEX_NOT_LOCKED);
  EXPECT_EQ(c.args.UnlockMutex(mutex), CKR_OK);
  EXPECT_EQ(c.args.DestroyMutex(mutex), CKR_OK);
}

TEST(ModuleMutexesTest, NullArgumentsAreRefused) {
  Callbacks c;
  EXPECT_EQ(c.args.CreateMutex(nullptr), CKR_ARGUMENTS_BAD);
  EXPECT_EQ(c.args.LockMutex(nullptr), CKR_MUTEX_BAD);
  EXPECT_EQ(c.args.UnlockMutex(nullptr), CKR_MUTEX_BAD);
  EXPECT_EQ(c.args.DestroyMutex(nullptr), CKR_MUTEX_BAD);
}

}  // namespace
}  // namespace signet
