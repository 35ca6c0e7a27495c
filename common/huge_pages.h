// Transparent huge pages for the large buffers of a large mail (issue #20).
//
// signetd gives mail-sized blocks back to the kernel when they are freed
// (signetd_main.cc: M_MMAP_THRESHOLD), so every large buffer of every call
// is a fresh mapping whose pages the kernel faults in and zeroes on first
// touch: with 4 KiB pages that is 256 faults per MiB, each with its memory
// cgroup charge, and about half of signetd's CPU on a 50 MiB call was the
// kernel's. Advised, the same buffer is faulted in 2 MiB at a time (THP in
// "madvise" mode, as Debian ships it). The memory is still returned when
// the buffer is freed. A huge page's first touch makes all of it memory, so
// only whole aligned huge pages inside a buffer are advised.
#ifndef SIGNET_COMMON_HUGE_PAGES_H_
#define SIGNET_COMMON_HUGE_PAGES_H_

#include <cstddef>
#include <string>

namespace signet {

inline constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;

// Advises MADV_HUGEPAGE for the whole 2 MiB-aligned huge pages inside
// [data, data + size) (never memory outside it: the buffer may share its
// first and last pages with other blocks). Advice only: nothing happens
// where THP is off or not built in.
void AdviseHugePages(const void* data, std::size_t size);

// out->reserve(capacity), then the advice for what is not written yet:
// for a buffer about to be filled once, before its pages are touched. A
// buffer under two huge pages is left alone.
void ReserveLarge(std::string* out, std::size_t capacity);

}  // namespace signet

#endif  // SIGNET_COMMON_HUGE_PAGES_H_
