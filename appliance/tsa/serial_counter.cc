#include "appliance/tsa/serial_counter.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/read_file.h"
#include "common/status_macros.h"
#include "common/unique_fd.h"

namespace signet::tsa {
namespace {

constexpr char kMagic[] = "signet-tsa-serial-state v1";

absl::Status ErrnoError(int error, absl::string_view what, const std::string& path) {
  return absl::ErrnoToStatus(error, absl::StrCat(what, " ", path));
}

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

absl::Status WriteAll(int fd, const std::string& content, const std::string& path) {
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "cannot write", path);
    }
    written += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

std::string FormatSerialState(uint64_t mark) { return absl::StrCat(kMagic, "\n", mark, "\n"); }

absl::StatusOr<uint64_t> ParseSerialState(const std::string& content) {
  const std::vector<absl::string_view> lines = absl::StrSplit(content, '\n');
  uint64_t mark = 0;
  // Exactly the two lines FormatSerialState writes: anything else is a file
  // this code did not write whole, and guessing a mark from it could reuse
  // serials.
  if (lines.size() != 3 || lines[0] != kMagic || !lines[2].empty() || lines[1].empty() ||
      lines[1].find_first_not_of("0123456789") != absl::string_view::npos ||
      !absl::SimpleAtoi(lines[1], &mark) || mark == 0) {
    return absl::FailedPreconditionError("not a TSA serial state file, or corrupt");
  }
  return mark;
}

absl::Status WriteFileDurably(const std::string& path, const std::string& content) {
  const std::string temporary = absl::StrCat(path, ".tmp");
  {
    UniqueFd fd(open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd.valid()) return ErrnoError(errno, "cannot create", temporary);
    RETURN_IF_ERROR(WriteAll(fd.get(), content, temporary));
    if (fsync(fd.get()) != 0) return ErrnoError(errno, "cannot fsync", temporary);
    if (close(fd.release()) != 0) return ErrnoError(errno, "cannot close", temporary);
  }
  if (rename(temporary.c_str(), path.c_str()) != 0) {
    return ErrnoError(errno, "cannot rename over", path);
  }
  // The rename is durable only once the directory entry is.
  const std::string directory = DirectoryOf(path);
  UniqueFd dir(open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return ErrnoError(errno, "cannot open directory", directory);
  if (fsync(dir.get()) != 0) return ErrnoError(errno, "cannot fsync directory", directory);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<SerialCounter>> SerialCounter::Open(SerialCounterOptions options) {
  if (options.state_path.empty()) {
    return absl::InvalidArgumentError("the TSA serial state file is not configured");
  }
  if (options.block_size == 0) {
    return absl::InvalidArgumentError("the serial block size must be at least 1");
  }
  uint64_t mark = 1;
  absl::StatusOr<std::string> content =
      ReadFileUpTo(options.state_path, 256, "not a TSA serial state file");
  if (content.ok()) {
    absl::StatusOr<uint64_t> parsed = ParseSerialState(*content);
    if (!parsed.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat(options.state_path, ": ", parsed.status().message(),
                       "; refusing to issue serials that may repeat"));
    }
    mark = *parsed;
  } else if (absl::IsNotFound(content.status()) && options.create_if_missing) {
    mark = 1;
  } else if (absl::IsInvalidArgument(content.status())) {
    // Too large to be a state file.
    return absl::FailedPreconditionError(content.status().message());
  } else {
    return content.status();
  }
  return std::unique_ptr<SerialCounter>(new SerialCounter(std::move(options), mark));
}

absl::StatusOr<uint64_t> SerialCounter::Next() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (next_ == limit_) {
    // Serials must stay positive 64-bit numbers (and fit ASN1_INTEGER_set_uint64).
    if (limit_ > std::numeric_limits<uint64_t>::max() - options_.block_size) {
      return absl::ResourceExhaustedError("TSA serial numbers are exhausted");
    }
    const uint64_t new_limit = limit_ + options_.block_size;
    RETURN_IF_ERROR(WriteFileDurably(options_.state_path, FormatSerialState(new_limit)));
    limit_ = new_limit;
  }
  return next_++;
}

}  // namespace signet::tsa
