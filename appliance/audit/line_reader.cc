#include "appliance/audit/line_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace signet::audit {
namespace {

constexpr size_t kReadSize = 64 * 1024;

}  // namespace

absl::StatusOr<LineReader> LineReader::Open(absl::string_view path, size_t max_line) {
  std::string owned_path(path);
  int fd = open(owned_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot open audit log ", path));
  }
  LineReader reader(fd, std::move(owned_path), max_line);
  struct stat info;
  if (fstat(fd, &info) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot stat audit log ", path));
  }
  if (!S_ISREG(info.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat("audit log ", path, " is not a file"));
  }
  reader.device_ = info.st_dev;
  reader.inode_ = info.st_ino;
  return reader;
}

LineReader::LineReader(int fd, std::string path, size_t max_line)
    : fd_(fd), path_(std::move(path)), max_line_(max_line) {}

LineReader::LineReader(LineReader&& other) noexcept
    : fd_(std::move(other.fd_)),
      path_(std::move(other.path_)),
      max_line_(other.max_line_),
      buffer_(std::move(other.buffer_)),
      start_(other.start_),
      eof_(other.eof_),
      line_number_(other.line_number_),
      offset_(other.offset_),
      device_(other.device_),
      inode_(other.inode_) {}

absl::StatusOr<std::optional<absl::string_view>> LineReader::Next() {
  size_t searched = start_;
  for (;;) {
    size_t newline = buffer_.find('\n', searched);
    if (newline != std::string::npos) {
      if (newline - start_ > max_line_) break;
      absl::string_view line(buffer_.data() + start_, newline - start_);
      offset_ += line.size() + 1;
      ++line_number_;
      start_ = newline + 1;
      return line;
    }
    if (buffer_.size() - start_ > max_line_) break;
    if (eof_) {
      if (start_ == buffer_.size()) return std::nullopt;
      return absl::DataLossError(absl::StrCat(
          path_, " line ", line_number_ + 1,
          " is incomplete: the file ends inside an entry (an interrupted write, or a cut)"));
    }
    // Keep only the unread part, so the buffer stays within one line plus
    // one read.
    buffer_.erase(0, start_);
    start_ = 0;
    searched = buffer_.size();
    size_t old_size = buffer_.size();
    buffer_.resize(old_size + kReadSize);
    ssize_t got;
    do {
      got = read(fd_.get(), buffer_.data() + old_size, kReadSize);
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
      int error = errno;
      buffer_.resize(old_size);
      return absl::ErrnoToStatus(error, absl::StrCat("cannot read audit log ", path_));
    }
    buffer_.resize(old_size + static_cast<size_t>(got));
    if (got == 0) eof_ = true;
  }
  return absl::DataLossError(absl::StrCat(path_, " line ", line_number_ + 1, " is longer than ",
                                          max_line_, " bytes: not an audit entry"));
}

}  // namespace signet::audit
