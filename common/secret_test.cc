#include "common/secret.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

// --- Seeing what a block holds when it is given back ------------------------
//
// Reading memory after it is freed is undefined behaviour, so the wiping is
// observed at the last moment the block is still allocated: this test binary
// replaces the global operator new and delete (which the standard permits) and
// copies a watched block's bytes inside operator delete, after
// WipingAllocator::deallocate has run and before the block goes back to
// malloc. WipingAllocator's underlying std::allocator frees through this
// operator delete, so nothing in secret.h needs a test hook.

namespace {

constexpr std::size_t kMaxWatchedBytes = 1024;

std::atomic<const void*> g_watched_block{nullptr};
std::size_t g_watched_length = 0;
unsigned char g_snapshot[kMaxWatchedBytes];
std::atomic<bool> g_watched_block_freed{false};

void InspectBeforeFree(void* block) noexcept {
  if (block == nullptr || block != g_watched_block.load()) return;
  std::memcpy(g_snapshot, block, g_watched_length);
  g_watched_block = nullptr;
  g_watched_block_freed = true;
}

void* Allocate(std::size_t size) {
  void* block = std::malloc(size == 0 ? 1 : size);
  if (block == nullptr) throw std::bad_alloc();
  return block;
}

void Free(void* block) noexcept {
  InspectBeforeFree(block);
  std::free(block);
}

}  // namespace

void* operator new(std::size_t size) { return Allocate(size); }
void* operator new[](std::size_t size) { return Allocate(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return std::malloc(size == 0 ? 1 : size);
}
void operator delete(void* block) noexcept { Free(block); }
void operator delete[](void* block) noexcept { Free(block); }
void operator delete(void* block, std::size_t) noexcept { Free(block); }
void operator delete[](void* block, std::size_t) noexcept { Free(block); }
void operator delete(void* block, const std::nothrow_t&) noexcept { Free(block); }
void operator delete[](void* block, const std::nothrow_t&) noexcept { Free(block); }

namespace signet {
namespace {

using ::testing::Each;
using ::testing::Eq;

constexpr std::string_view kPin = "s3cret-PIN-4711";

// Watches one heap block, which must start at `block` and hold at least
// `length` bytes, until it is freed; then holds what its first `length` bytes
// were at that moment.
class FreedBlockWatch {
 public:
  FreedBlockWatch(const void* block, std::size_t length) : length_(length) {
    EXPECT_LE(length, kMaxWatchedBytes);
    g_watched_length = length;
    g_watched_block_freed = false;
    g_watched_block = block;
  }
  FreedBlockWatch(const FreedBlockWatch&) = delete;
  FreedBlockWatch& operator=(const FreedBlockWatch&) = delete;
  ~FreedBlockWatch() { g_watched_block = nullptr; }

  bool freed() const { return g_watched_block_freed; }
  std::string bytes_at_free() const {
    return std::string(reinterpret_cast<const char*>(g_snapshot), length_);
  }

 private:
  std::size_t length_;
};

// The tests below are only meaningful if the watch can see bytes that were
// not wiped; std::allocator does not wipe.
TEST(FreedBlockWatchTest, SeesBytesThatWereNotWiped) {
  std::allocator<uint8_t> allocator;
  uint8_t* block = allocator.allocate(64);
  std::memset(block, 0xA5, 64);
  FreedBlockWatch watch(block, 64);
  allocator.deallocate(block, 64);
  ASSERT_TRUE(watch.freed());
  EXPECT_THAT(watch.bytes_at_free(), Each(Eq('\xA5')));
}

TEST(WipingAllocatorTest, DeallocateZeroesTheBlock) {
  WipingAllocator<uint8_t> allocator;
  uint8_t* block = allocator.allocate(64);
  std::memset(block, 0xA5, 64);
  FreedBlockWatch watch(block, 64);
  allocator.deallocate(block, 64);
  ASSERT_TRUE(watch.freed());
  EXPECT_THAT(watch.bytes_at_free(), Each(Eq('\0')));
}

TEST(WipingAllocatorTest, DeallocateZeroesEveryByteOfWiderElements) {
  WipingAllocator<uint32_t> allocator;
  uint32_t* block = allocator.allocate(16);
  std::memset(block, 0xFF, 16 * sizeof(uint32_t));
  FreedBlockWatch watch(block, 16 * sizeof(uint32_t));
  allocator.deallocate(block, 16);
  ASSERT_TRUE(watch.freed());
  EXPECT_THAT(watch.bytes_at_free(), Each(Eq('\0')));
}

TEST(WipingAllocatorTest, RebindsAndComparesEqual) {
  WipingAllocator<uint8_t> bytes;
  WipingAllocator<uint32_t> words(bytes);
  EXPECT_TRUE(bytes == words);
  EXPECT_FALSE(bytes != words);
}

TEST(SecretBytesTest, GrowingWipesTheOldBuffer) {
  SecretBytes bytes(32, 0x5A);
  FreedBlockWatch watch(bytes.data(), bytes.size());
  bytes.resize(bytes.capacity() + 1000);  // must move to a new buffer
  ASSERT_TRUE(watch.freed());
  EXPECT_THAT(watch.bytes_at_free(), Each(Eq('\0')));
}

TEST(SecretStringTest, RoundTrip) {
  const SecretString secret(kPin);
  EXPECT_FALSE(secret.empty());
  EXPECT_EQ(secret.size(), kPin.size());
  EXPECT_EQ(secret.ExposeAsText(), kPin);
  EXPECT_EQ(std::memcmp(secret.ExposeForPkcs11(), kPin.data(), kPin.size()), 0);
}

TEST(SecretStringTest, DefaultIsEmpty) {
  const SecretString secret;
  EXPECT_TRUE(secret.empty());
  EXPECT_EQ(secret.size(), 0u);
  EXPECT_EQ(secret.ExposeAsText(), "");
}

TEST(SecretStringTest, HoldsArbitraryBytes) {
  const std::string_view binary("a\0b\xff", 4);
  EXPECT_EQ(SecretString(binary).ExposeAsText(), binary);
}

TEST(SecretStringTest, Append) {
  SecretString secret;
  secret.Append("s3cret");
  secret.Append("");
  secret.Append("-PIN-4711");
  EXPECT_EQ(secret.ExposeAsText(), kPin);
}

TEST(SecretStringTest, TrimTrailingNewlines) {
  struct Case {
    std::string_view in;
    std::string_view out;
  };
  for (const Case& c :
       {Case{"1234", "1234"}, Case{"1234\n", "1234"}, Case{"1234\r\n", "1234"},
        Case{"1234\n\n\r\n", "1234"}, Case{"12\n34\n", "12\n34"}, Case{"\n1234", "\n1234"},
        Case{"1234 \n", "1234 "}, Case{"\n\r\n", ""}, Case{"", ""}}) {
    SecretString secret(c.in);
    secret.TrimTrailingNewlines();
    EXPECT_EQ(secret.ExposeAsText(), c.out);
  }
}

TEST(SecretStringTest, ClearEmptiesAndAllowsReuse) {
  SecretString secret(kPin);
  secret.Clear();
  EXPECT_TRUE(secret.empty());
  EXPECT_EQ(secret.ExposeAsText(), "");
  secret.Clear();  // clearing an empty secret is fine
  secret.Append("1234");
  EXPECT_EQ(secret.ExposeAsText(), "1234");
}

TEST(SecretStringTest, CopiesAreIndependent) {
  SecretString original(kPin);
  SecretString copy(original);
  EXPECT_EQ(copy.ExposeAsText(), kPin);
  EXPECT_NE(copy.ExposeForPkcs11(), original.ExposeForPkcs11());
  copy.Append("x");
  EXPECT_EQ(original.ExposeAsText(), kPin);

  SecretString assigned;
  assigned = original;
  original.Clear();
  EXPECT_EQ(assigned.ExposeAsText(), kPin);
}

TEST(SecretStringTest, MoveTransfersTheBufferAndLeavesTheSourceEmpty) {
  SecretString source(kPin);
  const uint8_t* buffer = source.ExposeForPkcs11();
  SecretString moved(std::move(source));
  EXPECT_EQ(moved.ExposeAsText(), kPin);
  // The same buffer, not a copy: a move must not leave a second copy behind.
  EXPECT_EQ(moved.ExposeForPkcs11(), buffer);
  EXPECT_TRUE(source.empty());  // NOLINT(bugprone-use-after-move): checked on purpose

  SecretString assigned;
  assigned = std::move(moved);
  EXPECT_EQ(assigned.ExposeAsText(), kPin);
  EXPECT_EQ(assigned.ExposeForPkcs11(), buffer);
  EXPECT_TRUE(moved.empty());  // NOLINT(bugprone-use-after-move)
}

TEST(SecretStringTest, DestructionWipesTheBuffer) {
  std::unique_ptr<FreedBlockWatch> watch;
  {
    SecretString secret(kPin);
    watch = std::make_unique<FreedBlockWatch>(secret.ExposeForPkcs11(), secret.size());
  }
  ASSERT_TRUE(watch->freed());
  EXPECT_THAT(watch->bytes_at_free(), Each(Eq('\0')));
}

TEST(SecretStringTest, GrowingWipesTheOldBuffer) {
  SecretString secret(kPin);
  FreedBlockWatch watch(secret.ExposeForPkcs11(), secret.size());
  secret.Append(std::string(500, 'x'));
  ASSERT_TRUE(watch.freed());
  EXPECT_THAT(watch.bytes_at_free(), Each(Eq('\0')));
}

TEST(SecretStringTest, MoveAssignmentWipesTheOverwrittenBuffer) {
  SecretString target(kPin);
  FreedBlockWatch watch(target.ExposeForPkcs11(), target.size());
  target = SecretString("other");
  ASSERT_TRUE(watch.freed());
  EXPECT_THAT(watch.bytes_at_free(), Each(Eq('\0')));
}

TEST(SecretStringTest, ClearGivesTheBufferBackWiped) {
  SecretString secret(kPin);
  FreedBlockWatch watch(secret.ExposeForPkcs11(), secret.size());
  secret.Clear();
  ASSERT_TRUE(watch.freed());
  EXPECT_THAT(watch.bytes_at_free(), Each(Eq('\0')));
}

// A shorter secret copied over a longer one reuses the buffer and leaves the
// longer one's tail past size(); Clear() must wipe that tail too.
TEST(SecretStringTest, ClearWipesBytesPastTheEnd) {
  SecretString secret(kPin);
  const SecretString shorter("12");
  FreedBlockWatch watch(secret.ExposeForPkcs11(), kPin.size());
  secret = shorter;
  secret.TrimTrailingNewlines();
  EXPECT_EQ(secret.ExposeAsText(), "12");
  secret.Clear();
  ASSERT_TRUE(watch.freed());
  EXPECT_THAT(watch.bytes_at_free(), Each(Eq('\0')));
}

}  // namespace
}  // namespace signet
