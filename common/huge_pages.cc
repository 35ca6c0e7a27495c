#include "common/huge_pages.h"

#include <sys/mman.h>

#include <cstdint>

namespace signet {

void AdviseHugePages(const void* data, std::size_t size) {
  const auto address = reinterpret_cast<std::uintptr_t>(data);
  const std::uintptr_t begin = (address + kHugePageBytes - 1) & ~(kHugePageBytes - 1);
  const std::uintptr_t end = (address + size) & ~(kHugePageBytes - 1);
  if (end <= begin) return;
  // Failure (EINVAL without THP) leaves ordinary pages, which work.
  madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

void ReserveLarge(std::string* out, std::size_t capacity) {
  if (capacity <= out->capacity()) return;
  out->reserve(capacity);
  // A buffer this small holds no whole aligned huge page, or one at best.
  if (out->capacity() < 2 * kHugePageBytes) return;
  AdviseHugePages(out->data() + out->size(), out->capacity() - out->size());
}

}  // namespace signet
