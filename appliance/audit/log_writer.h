// Where the audit log's bytes go: the file, written whole and made durable.
// An interface so that tests can make writing fail on command (a full disk,
// an I/O error) and see the log stop.
#ifndef SIGNET_APPLIANCE_AUDIT_LOG_WRITER_H_
#define SIGNET_APPLIANCE_AUDIT_LOG_WRITER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace signet::audit {

class LogWriter {
 public:
  virtual ~LogWriter() = default;
  // Writes all of `bytes` at the end of the file. On failure the file is put
  // back to where it ended before, if that can be done.
  virtual absl::Status Append(absl::string_view bytes) = 0;
  // Returns once everything appended is on stable storage, and fails when the
  // file is no longer the one at its path (removed or replaced): records
  // written to an orphaned file are lost to every reader.
  virtual absl::Status Sync() = 0;
};

// A writer on an open file, which it owns (and closes). `size` is where the
// file ends now; `path` is where the file must stay. Errors are UNAVAILABLE.
std::unique_ptr<LogWriter> NewFdLogWriter(int fd, std::string path, uint64_t size);

}  // namespace signet::audit

#endif  // SIGNET_APPLIANCE_AUDIT_LOG_WRITER_H_
