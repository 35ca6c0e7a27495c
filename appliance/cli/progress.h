// The progress bar on stderr for big mails: shown from kProgressThreshold on,
// when stderr is a terminal or --progress asks for it.
#ifndef SIGNET_APPLIANCE_CLI_PROGRESS_H_
#define SIGNET_APPLIANCE_CLI_PROGRESS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace signet::cli {

inline constexpr uint64_t kProgressThreshold = 4 * 1024 * 1024;

// One line: "sign  sending    [#######.............]  35%   2.8 MiB / 8.0 MiB".
// Without a total: the bytes so far and no bar.
std::string RenderProgress(absl::string_view operation, absl::string_view phase, uint64_t done,
                           std::optional<uint64_t> total);

class Progress {
 public:
  // enabled: stderr is a terminal or --progress was given. Drawn on fd.
  Progress(std::string operation, bool enabled, int fd = 2);
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  // Ends a drawn line.
  ~Progress() { Finish(); }

  // The mail going to signetd, and the result coming back. Thread-safe:
  // the two may come from different threads.
  void Sent(uint64_t done, std::optional<uint64_t> total);
  void Received(uint64_t done, uint64_t total);
  // Ends the line (with a newline) if one was drawn, so that what follows on
  // stderr starts on a line of its own.
  void Finish();

 private:
  void Update(absl::string_view phase, uint64_t done, std::optional<uint64_t> total, bool force)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const std::string operation_;
  const bool enabled_;
  const int fd_;
  const bool terminal_;
  absl::Mutex mutex_;
  bool drawn_ ABSL_GUARDED_BY(mutex_) = false;
  absl::Time last_ ABSL_GUARDED_BY(mutex_) = absl::InfinitePast();
};

}  // namespace signet::cli

#endif  // SIGNET_APPLIANCE_CLI_PROGRESS_H_
