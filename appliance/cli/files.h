// The files a command reads and writes, "-" being stdin and stdout.
#ifndef SIGNET_APPLIANCE_CLI_FILES_H_
#define SIGNET_APPLIANCE_CLI_FILES_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/unique_fd.h"

namespace signet::cli {

// Makes SIGINT, SIGTERM and SIGHUP remove the temporary file of an
// uncommitted OutputFile before the process dies of them, so that an
// interrupted command leaves nothing behind.
void RemoveTemporaryOnSignals();

// A whole small file (a certificate, a key): refused over max_bytes.
absl::StatusOr<std::string> ReadSmallFile(const std::string& path, size_t max_bytes = 1024 * 1024);

// The mail a command streams to signetd.
class InputFile {
 public:
  // "-" is stdin.
  static absl::StatusOr<InputFile> Open(const std::string& path);
  InputFile(InputFile&& other) noexcept = default;
  InputFile& operator=(InputFile&&) = delete;

  // "stdin" or the path, for messages.
  const std::string& name() const { return name_; }
  // Known for a regular file: the request header announces it, and the
  // progress bar shows a fraction.
  std::optional<uint64_t> size() const { return size_; }

  // Up to `capacity` bytes, fewer only at the end of the input (0 there).
  // A pipe or terminal is polled, so that setting `stop` (the call ended
  // early) ends a wait for input that may never come: Cancelled then.
  absl::StatusOr<size_t> Read(char* buffer, size_t capacity, const std::atomic<bool>& stop);

 private:
  InputFile(int fd, bool owned, std::string name, std::optional<uint64_t> size)
      : owned_(owned ? fd : -1), fd_(fd), name_(std::move(name)), size_(size) {}

  // Invalid for stdin, which is read but not closed.
  UniqueFd owned_;
  int fd_;
  std::string name_;
  std::optional<uint64_t> size_;
};

// Where a command's result goes. A path is written through a temporary file
// beside it that Commit renames over it, so a failed or interrupted command
// leaves an existing OUT as it was and never a partial one. stdout and
// special files (a FIFO, /dev/null) are written directly.
class OutputFile {
 public:
  // private_mode: a new file gets mode 0600 (decrypted mail) rather than
  // 0666 less the umask; an existing file keeps its mode either way.
  static absl::StatusOr<OutputFile> Create(const std::string& path, bool private_mode = false);
  OutputFile(OutputFile&& other) noexcept;
  OutputFile& operator=(OutputFile&&) = delete;
  // Removes the temporary file unless committed.
  ~OutputFile();

  const std::string& name() const { return name_; }
  absl::Status Write(absl::string_view data);
  absl::Status Commit();

 private:
  OutputFile(int fd, bool owned, std::string name, std::string temporary)
      : owned_(owned ? fd : -1),
        fd_(fd),
        name_(std::move(name)),
        temporary_(std::move(temporary)) {}

  // Invalid for stdout, which is written but not closed.
  UniqueFd owned_;
  int fd_;
  std::string name_;
  // Empty when writing directly.
  std::string temporary_;
  bool committed_ = false;
};

}  // namespace signet::cli

#endif  // SIGNET_APPLIANCE_CLI_FILES_H_
