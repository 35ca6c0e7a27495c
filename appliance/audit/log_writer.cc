#include "appliance/audit/log_writer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace signet::audit {
namespace {

class FdLogWriter : public LogWriter {
 public:
  FdLogWriter(int fd, std::string path, uint64_t size)
      : fd_(fd), path_(std::move(path)), size_(size) {}
  ~FdLogWriter() override { close(fd_); }

  absl::Status Append(absl::string_view bytes) override {
    size_t written = 0;
    while (written < bytes.size()) {
      ssize_t result = write(fd_, bytes.data() + written, bytes.size() - written);
      if (result < 0 && errno == EINTR) continue;
      if (result <= 0) {
        const int error = result < 0 ? errno : EIO;
        // A partial line would make the file unreadable past it; cutting it
        // off keeps what was durable before readable (best effort: the same
        // fault may refuse this too).
        if (written > 0 && ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
          return Failed("write (and cutting off the partial write)", error);
        }
        return Failed("write", error);
      }
      written += static_cast<size_t>(result);
    }
    size_ += bytes.size();
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    if (fdatasync(fd_) != 0) return Failed("fdatasync", errno);
    struct stat open_file;
    if (fstat(fd_, &open_file) != 0) return Failed("fstat", errno);
    if (open_file.st_nlink == 0) {
      return absl::UnavailableError(absl::StrCat("audit log ", path_, " was removed"));
    }
    struct stat at_path;
    if (stat(path_.c_str(), &at_path) != 0) {
      if (errno == ENOENT) {
        return absl::UnavailableError(
            absl::StrCat("audit log ", path_, " is no longer at its path (moved away)"));
      }
      return Failed("stat", errno);
    }
    if (at_path.st_dev != open_file.st_dev || at_path.st_ino != open_file.st_ino) {
      return absl::UnavailableError(
          absl::StrCat("audit log ", path_, " was replaced by another file"));
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Failed(absl::string_view call, int error) const {
    return absl::UnavailableError(
        absl::StrCat("audit log ", path_, ": ", call, " failed: ", std::strerror(error)));
  }

  int fd_;
  std::string path_;
  uint64_t size_;
};

}  // namespace

std::unique_ptr<LogWriter> NewFdLogWriter(int fd, std::string path, uint64_t size) {
  return std::make_unique<FdLogWriter>(fd, std::move(path), size);
}

}  // namespace signet::audit
