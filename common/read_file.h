// A whole file read into memory, bounded: for the small files Signet reads
// whole (certificates, keys, CRLs), so that a wrong path (a disk image, a
// log) fails with a clear error instead of filling memory.
#ifndef SIGNET_COMMON_READ_FILE_H_
#define SIGNET_COMMON_READ_FILE_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace signet {

// The file's bytes. "cannot read <path>: <strerror>" with the errno's code
// when it cannot be opened or read; INVALID_ARGUMENT "<path> is larger than
// <max_bytes> bytes: <too_large>" when it holds more (read, not stat'ed, so
// a file that grows while it is read is refused too, never cut).
absl::StatusOr<std::string> ReadFileUpTo(const std::string& path, size_t max_bytes,
                                         absl::string_view too_large);

}  // namespace signet

#endif  // SIGNET_COMMON_READ_FILE_H_
