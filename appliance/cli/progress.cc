#include "appliance/cli/progress.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace signet::cli {
namespace {

constexpr int kBarWidth = 20;
// A redraw costs a write to the terminal: ten a second look smooth. A log
// file (stderr redirected, --progress) gets a line a second.
constexpr absl::Duration kRedrawInterval = absl::Milliseconds(100);
constexpr absl::Duration kLogInterval = absl::Seconds(1);

std::string Mib(uint64_t bytes) {
  return absl::StrFormat("%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
}

}  // namespace

std::string RenderProgress(absl::string_view operation, absl::string_view phase, uint64_t done,
                           std::optional<uint64_t> total) {
  if (!total.has_value() || *total == 0) {
    return absl::StrFormat("%s  %-9s %s", operation, phase, Mib(done));
  }
  const uint64_t clamped = std::min(done, *total);
  const int filled = static_cast<int>(clamped * kBarWidth / *total);
  const int percent = static_cast<int>(clamped * 100 / *total);
  return absl::StrFormat("%s  %-9s [%s%s] %3d%%  %s / %s", operation, phase,
                         std::string(static_cast<size_t>(filled), '#'),
                         std::string(static_cast<size_t>(kBarWidth - filled), '.'), percent,
                         Mib(done), Mib(*total));
}

Progress::Progress(std::string operation, bool enabled, int fd)
    : operation_(std::move(operation)), enabled_(enabled), fd_(fd), terminal_(isatty(fd) == 1) {}

void Progress::Sent(uint64_t done, std::optional<uint64_t> total) {
  if (!enabled_) return;
  absl::MutexLock lock(&mutex_);
  Update("sending", done, total, total.has_value() && done >= *total);
}

void Progress::Received(uint64_t done, uint64_t total) {
  if (!enabled_) return;
  absl::MutexLock lock(&mutex_);
  Update("receiving", done, total, done >= total);
}

void Progress::Update(absl::string_view phase, uint64_t done, std::optional<uint64_t> total,
                      bool force) {
  // Small mails need no bar; one of unknown size gets it once it is big.
  if (std::max(done, total.value_or(0)) < kProgressThreshold) return;
  const absl::Time now = absl::Now();
  if (!force && now - last_ < (terminal_ ? kRedrawInterval : kLogInterval)) return;
  last_ = now;
  const std::string text = RenderProgress(operation_, phase, done, total);
  // On a terminal, "\r" back to the start of the line and "\033[K" clears
  // what a longer one left; elsewhere escape codes would be litter.
  const std::string line =
      terminal_ ? absl::StrCat("\r", text, "\033[K") : absl::StrCat(text, "\n");
  (void)!write(fd_, line.data(), line.size());
  drawn_ = terminal_;
}

void Progress::Finish() {
  absl::MutexLock lock(&mutex_);
  if (!drawn_) return;
  (void)!write(fd_, "\n", 1);
  drawn_ = false;
}

}  // namespace signet::cli
