#include "appliance/cli/files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/read_file.h"

namespace signet::cli {
namespace {

absl::Status ErrnoError(int error, absl::string_view what, absl::string_view name) {
  return absl::Status(absl::ErrnoToStatusCode(error),
                      absl::StrCat("cannot ", what, " ", name, ": ", strerror(error)));
}

mode_t Umask() {
  // The only way to read it is to set it; put it straight back.
  const mode_t mask = umask(077);
  umask(mask);
  return mask;
}

// The temporary file a signal handler removes: one OutputFile at a time
// writes through one. A plain array, since the handler may only read memory.
char temporary_path[PATH_MAX];
std::atomic<bool> has_temporary{false};

void TrackTemporary(const std::string& path) {
  if (path.size() >= sizeof temporary_path) return;
  memcpy(temporary_path, path.c_str(), path.size() + 1);
  has_temporary.store(true);
}

void UntrackTemporary() { has_temporary.store(false); }

void RemoveTemporaryAndDie(int signal_number) {
  if (has_temporary.load()) unlink(temporary_path);
  signal(signal_number, SIG_DFL);
  raise(signal_number);
}

}  // namespace

void RemoveTemporaryOnSignals() {
  for (int signal_number : {SIGINT, SIGTERM, SIGHUP}) {
    signal(signal_number, RemoveTemporaryAndDie);
  }
}

absl::StatusOr<std::string> ReadSmallFile(const std::string& path, size_t max_bytes) {
  return ReadFileUpTo(path, max_bytes, "not a certificate or key");
}

absl::StatusOr<InputFile> InputFile::Open(const std::string& path) {
  int fd = STDIN_FILENO;
  bool owned = false;
  std::string name = "stdin";
  if (path != "-") {
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoError(errno, "read", path);
    owned = true;
    name = path;
  }
  struct stat info;
  std::optional<uint64_t> size;
  if (fstat(fd, &info) == 0) {
    if (S_ISDIR(info.st_mode)) {
      if (owned) UniqueFd closing(fd);
      return absl::InvalidArgumentError(absl::StrCat("cannot read ", name, ": it is a directory"));
    }
    if (S_ISREG(info.st_mode)) size = static_cast<uint64_t>(info.st_size);
  }
  return InputFile(fd, owned, std::move(name), size);
}

absl::StatusOr<size_t> InputFile::Read(char* buffer, size_t capacity,
                                       const std::atomic<bool>& stop) {
  size_t filled = 0;
  while (filled < capacity) {
    if (!size_.has_value()) {
      pollfd ready{.fd = fd_, .events = POLLIN};
      const int polled = poll(&ready, 1, 100);
      if (stop.load()) return absl::CancelledError("the call ended");
      if (polled < 0 && errno != EINTR) return ErrnoError(errno, "read", name_);
      if (polled <= 0) continue;
    }
    const ssize_t n = read(fd_, buffer + filled, capacity - filled);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return ErrnoError(errno, "read", name_);
    if (n == 0) break;
    filled += static_cast<size_t>(n);
  }
  return filled;
}

absl::StatusOr<OutputFile> OutputFile::Create(const std::string& path, bool private_mode) {
  if (path == "-") return OutputFile(STDOUT_FILENO, false, "stdout", "");
  struct stat existing;
  const bool exists = stat(path.c_str(), &existing) == 0;
  if (exists && S_ISDIR(existing.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat("cannot write ", path, ": it is a directory"));
  }
  if (exists && !S_ISREG(existing.st_mode)) {
    const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoError(errno, "write", path);
    return OutputFile(fd, true, path, "");
  }
  std::string temporary = absl::StrCat(path, ".signet-XXXXXX");
  const int fd = mkostemp(temporary.data(), O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "write", path);
  const mode_t mode = exists ? (existing.st_mode & 07777) : private_mode ? 0600 : (0666 & ~Umask());
  fchmod(fd, mode);
  TrackTemporary(temporary);
  return OutputFile(fd, true, path, std::move(temporary));
}

OutputFile::OutputFile(OutputFile&& other) noexcept
    : owned_(std::move(other.owned_)),
      fd_(other.fd_),
      name_(std::move(other.name_)),
      temporary_(std::exchange(other.temporary_, "")),
      committed_(other.committed_) {}

OutputFile::~OutputFile() {
  if (!temporary_.empty() && !committed_) {
    UntrackTemporary();
    unlink(temporary_.c_str());
  }
}

absl::Status OutputFile::Write(absl::string_view data) {
  while (!data.empty()) {
    const ssize_t n = write(fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(errno, "write", name_);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status OutputFile::Commit() {
  if (temporary_.empty()) {
    committed_ = true;
    return absl::OkStatus();
  }
  // The data must be on disk before the name points at it.
  if (fsync(fd_) != 0) return ErrnoError(errno, "write", name_);
  if (rename(temporary_.c_str(), name_.c_str()) != 0) return ErrnoError(errno, "write", name_);
  UntrackTemporary();
  committed_ = true;
  return absl::OkStatus();
}

}  // namespace signet::cli
