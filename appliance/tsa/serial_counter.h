// Serial numbers for time-stamp tokens: unique for the life of the TSA, across
// restarts and crashes (RFC 3161 section 2.4.2: serialNumber identifies one
// token of this TSA). A state file holds the high-water mark: every serial
// below it may have been issued, none at or above it has. Serials are reserved
// in blocks, and a block's mark is durable on disk before its first serial is
// handed out, so most serials cost no disk write and a crash loses at most the
// unused rest of a block, never uniqueness.
#ifndef SIGNET_APPLIANCE_TSA_SERIAL_COUNTER_H_
#define SIGNET_APPLIANCE_TSA_SERIAL_COUNTER_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "absl/status/statusor.h"

namespace signet::tsa {

struct SerialCounterOptions {
  std::string state_path;
  // Serials reserved per write of the state file.
  uint64_t block_size = 1024;
  // A missing state file means a new TSA, starting at serial 1. Off by
  // default: the file disappearing from a TSA that has issued tokens would
  // otherwise restart the serials silently.
  bool create_if_missing = false;
};

class SerialCounter {
 public:
  // Reads the mark. FAILED_PRECONDITION for a file that is not a state file
  // this code wrote (corrupt, truncated, another format), NOT_FOUND for a
  // missing one unless create_if_missing, and the errno's code when it
  // cannot be read: a TSA that cannot tell which serials it used must not
  // stamp.
  static absl::StatusOr<std::unique_ptr<SerialCounter>> Open(SerialCounterOptions options);

  SerialCounter(const SerialCounter&) = delete;
  SerialCounter& operator=(const SerialCounter&) = delete;

  // The next serial, never returned before by this or an earlier counter on
  // the same file. Thread-safe. An error when the next block's mark cannot
  // be made durable (the counter then issues nothing more from beyond the
  // durable mark; a later call tries the write again).
  absl::StatusOr<uint64_t> Next();

 private:
  SerialCounter(SerialCounterOptions options, uint64_t mark)
      : options_(std::move(options)), next_(mark), limit_(mark) {}

  SerialCounterOptions options_;
  std::mutex mutex_;
  // Serials in [next_, limit_) are reserved on disk and not yet issued.
  uint64_t next_;
  uint64_t limit_;
};

// The state file's content for `mark`, and the mark in `content`; exposed for
// the tests that corrupt the file.
std::string FormatSerialState(uint64_t mark);
absl::StatusOr<uint64_t> ParseSerialState(const std::string& content);

// Replaces `path` with `content` so that a crash leaves either the old or the
// new file, and the new one is durable when this returns OK: write a
// temporary file beside it, fsync, rename over, fsync the directory.
absl::Status WriteFileDurably(const std::string& path, const std::string& content);

}  // namespace signet::tsa

#endif  // SIGNET_APPLIANCE_TSA_SERIAL_COUNTER_H_
