#include "common/huge_pages.h"

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace signet {
namespace {

// The VmFlags line of the mapping in /proc/self/smaps that holds `address`.
std::string VmFlagsAt(const void* address) {
  const auto wanted = reinterpret_cast<std::uintptr_t>(address);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    std::uintptr_t begin = 0;
    std::uintptr_t end = 0;
    char dash = 0;
    std::istringstream range(line);
    if (range >> std::hex >> begin >> dash >> end && dash == '-' &&
        line.find(':') > line.find(' ')) {
      inside = begin <= wanted && wanted < end;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0) return line;
  }
  return "";
}

bool HasHugePageAdvice(const void* address) {
  return (VmFlagsAt(address) + " ").find(" hg ") != std::string::npos;
}

bool ThpBuiltIn() { return std::ifstream("/sys/kernel/mm/transparent_hugepage/enabled").good(); }

TEST(HugePagesTest, ALargeBufferIsAdvisedInsideItsBoundsOnly) {
  if (!ThpBuiltIn()) GTEST_SKIP() << "no transparent huge pages in this kernel";
  std::string buffer;
  ReserveLarge(&buffer, 16 * kHugePageBytes);
  ASSERT_GE(buffer.capacity(), 16 * kHugePageBytes);
  const char* const data = buffer.data();
  EXPECT_TRUE(HasHugePageAdvice(data + 8 * kHugePageBytes)) << VmFlagsAt(data + 8 * kHugePageBytes);
  // The block's start shares its page with the allocator's header: below
  // the first aligned huge page, nothing is advised.
  if (reinterpret_cast<std::uintptr_t>(data) % kHugePageBytes != 0) {
    EXPECT_FALSE(HasHugePageAdvice(data)) << VmFlagsAt(data);
  }
}

TEST(HugePagesTest, ASmallBufferIsLeftAlone) {
  if (!ThpBuiltIn()) GTEST_SKIP() << "no transparent huge pages in this kernel";
  std::string buffer;
  ReserveLarge(&buffer, kHugePageBytes + 4096);
  EXPECT_FALSE(HasHugePageAdvice(buffer.data() + kHugePageBytes / 2))
      << VmFlagsAt(buffer.data() + kHugePageBytes / 2);
}

TEST(HugePagesTest, ReserveLargeKeepsWhatTheStringHolds) {
  std::string buffer = "From: a@b.example\r\n";
  ReserveLarge(&buffer, 8 * kHugePageBytes);
  EXPECT_EQ(buffer, "From: a@b.example\r\n");
  EXPECT_GE(buffer.capacity(), 8 * kHugePageBytes);
  // Never shrinks.
  ReserveLarge(&buffer, 10);
  EXPECT_GE(buffer.capacity(), 8 * kHugePageBytes);
}

}  // namespace
}  // namespace signet
