#include "common/read_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/unique_fd.h"

namespace signet {
namespace {

absl::Status ReadError(int error, absl::string_view path) {
  return absl::Status(absl::ErrnoToStatusCode(error),
                      absl::StrCat("cannot read ", path, ": ", strerror(error)));
}

}  // namespace

absl::StatusOr<std::string> ReadFileUpTo(const std::string& path, size_t max_bytes,
                                         absl::string_view too_large) {
  const UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ReadError(errno, path);
  std::string contents;
  char buffer[16384];
  for (;;) {
    const ssize_t n = read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ReadError(errno, path);
    if (n == 0) break;
    contents.append(buffer, static_cast<size_t>(n));
    if (contents.size() > max_bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, " is larger than ", max_bytes, " bytes: ", too_large));
    }
  }
  return contents;
}

}  // namespace signet
