// Reads a log file line by line with a bound on the line length, so that a
// damaged or hostile file cannot make the verifier hold it whole in memory.
#ifndef SIGNET_APPLIANCE_AUDIT_LINE_READER_H_
#define SIGNET_APPLIANCE_AUDIT_LINE_READER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/unique_fd.h"

namespace signet::audit {

class LineReader {
 public:
  // Audit entries are a few hundred bytes; anything near this is not one.
  static constexpr size_t kDefaultMaxLine = 64 * 1024;

  static absl::StatusOr<LineReader> Open(absl::string_view path, size_t max_line = kDefaultMaxLine);
  LineReader(LineReader&& other) noexcept;
  LineReader& operator=(LineReader&&) = delete;
  LineReader(const LineReader&) = delete;

  // The next line without its '\n' (valid until the next call), or nullopt
  // at the end of the file. A last line without '\n' is an error: it is an
  // interrupted write or a cut, never a complete entry.
  absl::StatusOr<std::optional<absl::string_view>> Next();

  // 1-based number of the line Next() returned last.
  uint64_t line_number() const { return line_number_; }
  // Bytes of the file consumed by the lines returned so far.
  uint64_t offset() const { return offset_; }
  // The file's device and inode, to tell whether a path still names it.
  uint64_t device() const { return device_; }
  uint64_t inode() const { return inode_; }

 private:
  LineReader(int fd, std::string path, size_t max_line);

  UniqueFd fd_;
  std::string path_;
  size_t max_line_;
  std::string buffer_;
  size_t start_ = 0;  // of the unread part of buffer_
  bool eof_ = false;
  uint64_t line_number_ = 0;
  uint64_t offset_ = 0;
  uint64_t device_ = 0;
  uint64_t inode_ = 0;
};

}  // namespace signet::audit

#endif  // SIGNET_APPLIANCE_AUDIT_LINE_READER_H_
