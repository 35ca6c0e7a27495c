// The owners of file descriptors and stdio streams: closed once, when the
// owner goes, unless released to a new owner.
#ifndef SIGNET_COMMON_UNIQUE_FD_H_
#define SIGNET_COMMON_UNIQUE_FD_H_

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <utility>

namespace signet {

class UniqueFd {
 public:
  UniqueFd() = default;
  // Owns `fd` (-1: nothing).
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Gives the descriptor up without closing it.
  int release() { return std::exchange(fd_, -1); }
  // Closes what it owns, and owns `fd` instead.
  void reset(int fd = -1) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

struct FileCloser {
  void operator()(FILE* file) const {
    if (file != nullptr) std::fclose(file);
  }
};
using UniqueFile = std::unique_ptr<FILE, FileCloser>;

}  // namespace signet

#endif  // SIGNET_COMMON_UNIQUE_FD_H_
