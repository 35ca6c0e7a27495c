// Serial numbers: distinct under concurrency, never repeated by a counter
// opened again on the same file, nor after the process holding the counter
// is killed with SIGKILL; corrupt state files are refused.
#include "appliance/tsa/serial_counter.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/temp_dir.h"

namespace signet::tsa {
namespace {

using ::signet::matchers::IsOk;
using ::signet::matchers::StatusIs;
using ::testing::HasSubstr;

class SerialCounterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(fixtures::TempDir dir, fixtures::TempDir::Create("tsa-serial"));
    dir_ = std::make_unique<fixtures::TempDir>(std::move(dir));
  }

  SerialCounterOptions Options(uint64_t block_size = 16) const {
    return {.state_path = dir_->File("serial.state"),
            .block_size = block_size,
            .create_if_missing = true};
  }

  void WriteState(const std::string& content) {
    std::ofstream(dir_->File("serial.state"), std::ios::binary | std::ios::trunc) << content;
  }

  std::string ReadState() {
    std::ifstream in(dir_->File("serial.state"), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::unique_ptr<fixtures::TempDir> dir_;
};

TEST_F(SerialCounterTest, StartsAtOneAndCounts) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SerialCounter> counter, SerialCounter::Open(Options()));
  for (uint64_t expected = 1; expected <= 40; ++expected) {
    EXPECT_THAT(counter->Next(), ::signet::matchers::IsOkAndHolds(expected));
  }
}

TEST_F(SerialCounterTest, TheMarkIsOnDiskBeforeASerialOfItsBlockIsIssued) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SerialCounter> counter, SerialCounter::Open(Options(16)));
  ASSERT_THAT(counter->Next(), ::signet::matchers::IsOkAndHolds(1u));
  EXPECT_EQ(ReadState(), FormatSerialState(17));
  for (int i = 0; i < 15; ++i) ASSERT_THAT(counter->Next(), IsOk());
  // Serial 16 was the block's last; the file has not moved.
  EXPECT_EQ(ReadState(), FormatSerialState(17));
  ASSERT_THAT(counter->Next(), ::signet::matchers::IsOkAndHolds(17u));
  EXPECT_EQ(ReadState(), FormatSerialState(33));
}

TEST_F(SerialCounterTest, ConcurrentCallersGetDistinctSerials) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SerialCounter> counter, SerialCounter::Open(Options(64)));
  constexpr int kThreads = 8;
  constexpr int kEach = 2000;
  std::vector<std::vector<uint64_t>> issued(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        absl::StatusOr<uint64_t> serial = counter->Next();
        if (serial.ok()) issued[t].push_back(*serial);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::set<uint64_t> all;
  for (const auto& serials : issued) {
    ASSERT_EQ(serials.size(), kEach);
    // Each caller sees its own serials increase.
    EXPECT_TRUE(std::is_sorted(serials.begin(), serials.end()));
    all.insert(serials.begin(), serials.end());
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kEach));
}

TEST_F(SerialCounterTest, ARestartNeverRepeatsASerial) {
  uint64_t highest = 0;
  for (int restart = 0; restart < 5; ++restart) {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<SerialCounter> counter, SerialCounter::Open(Options(16)));
    // Stop inside a block, at its end and right after it.
    for (int i = 0; i < 5 + restart * 6; ++i) {
      ASSERT_OK_AND_ASSIGN(uint64_t serial, counter->Next());
      EXPECT_GT(serial, highest);
      highest = serial;
    }
  }
}

TEST_F(SerialCounterTest, AMissingFileIsRefusedUnlessCreationIsAllowed) {
  SerialCounterOptions options = Options();
  options.create_if_missing = false;
  EXPECT_THAT(SerialCounter::Open(options), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(SerialCounterTest, CorruptStateFilesAreRefused) {
  for (const std::string& content :
       {std::string(), std::string("signet-tsa-serial-state v1\n"),
        std::string("signet-tsa-serial-state v1\n12"),  // cut before the newline
        std::string("signet-tsa-serial-state v1\n12x\n"),
        std::string("signet-tsa-serial-state v1\n-5\n"),
        std::string("signet-tsa-serial-state v1\n0\n"),
        std::string("signet-tsa-serial-state v1\n99999999999999999999999\n"),
        std::string("signet-tsa-serial-state v2\n12\n"), std::string("12\n"),
        std::string("signet-tsa-serial-state v1\n12\n13\n"), std::string(300, 'x')}) {
    WriteState(content);
    EXPECT_THAT(SerialCounter::Open(Options()), StatusIs(absl::StatusCode::kFailedPrecondition))
        << "content: " << content;
  }
  WriteState(FormatSerialState(12));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SerialCounter> counter, SerialCounter::Open(Options()));
  EXPECT_THAT(counter->Next(), ::signet::matchers::IsOkAndHolds(12u));
}

// The temporary file cannot be created (a directory is in its place, which
// stops root too): the next block cannot be made durable, so no serial of it
// is issued; once the write works again, counting goes on.
TEST_F(SerialCounterTest, AFailedWriteIssuesNothingFromTheNextBlock) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SerialCounter> counter, SerialCounter::Open(Options(2)));
  ASSERT_THAT(counter->Next(), IsOk());
  ASSERT_THAT(counter->Next(), IsOk());
  const std::string temporary = dir_->File("serial.state.tmp");
  ASSERT_EQ(mkdir(temporary.c_str(), 0700), 0);
  EXPECT_THAT(counter->Next(), StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("tmp")));
  EXPECT_EQ(ReadState(), FormatSerialState(3));
  ASSERT_EQ(rmdir(temporary.c_str()), 0);
  EXPECT_THAT(counter->Next(), ::signet::matchers::IsOkAndHolds(3u));
  EXPECT_EQ(ReadState(), FormatSerialState(5));
}

// A child process issues serials and reports each one on a pipe after Next()
// returned it; the parent kills it with SIGKILL in the middle of the run,
// opens the counter again and checks that it never issues one of them (nor
// anything below the highest reported, since serials only grow).
TEST_F(SerialCounterTest, AKilledProcessNeverCausesReuse) {
  constexpr uint64_t kBlock = 8;  // many block writes in a short run
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  // fork, not posix_spawn: the child runs this test's code. This test
  // process holds no PKCS#11 module and no other thread now.
  const pid_t child = fork();
  ASSERT_NE(child, -1);
  if (child == 0) {
    close(fds[0]);
    absl::StatusOr<std::unique_ptr<SerialCounter>> counter = SerialCounter::Open(Options(kBlock));
    if (!counter.ok()) _exit(2);
    for (;;) {
      absl::StatusOr<uint64_t> serial = (*counter)->Next();
      if (!serial.ok()) _exit(3);
      const uint64_t value = *serial;
      if (write(fds[1], &value, sizeof(value)) != sizeof(value)) _exit(4);
    }
  }
  close(fds[1]);
  std::vector<uint64_t> reported;
  uint64_t value = 0;
  // Kill it once it is well into its run, at a point the test does not
  // choose: wherever the child is in its loop (writing the file or not).
  while (reported.size() < 1000 && read(fds[0], &value, sizeof(value)) == sizeof(value)) {
    reported.push_back(value);
  }
  ASSERT_EQ(kill(child, SIGKILL), 0);
  while (read(fds[0], &value, sizeof(value)) == sizeof(value)) reported.push_back(value);
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the child ended on its own, status " << status;
  ASSERT_GE(reported.size(), 1000u);
  const uint64_t highest = *std::max_element(reported.begin(), reported.end());

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SerialCounter> counter,
                       SerialCounter::Open(Options(kBlock)));
  for (uint64_t i = 0; i < 3 * kBlock; ++i) {
    ASSERT_OK_AND_ASSIGN(uint64_t serial, counter->Next());
    EXPECT_GT(serial, highest);
  }
}

}  // namespace
}  // namespace signet::tsa
