#include "appliance/tsa/clock_sync.h"

#include <sys/timex.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace signet::tsa {

absl::StatusOr<bool> KernelClockSynchronized() {
  // modes = 0 only reads, so no privilege is needed.
  struct timex state = {};
  const int result = ntp_adjtime(&state);
  if (result == -1) {
    return absl::InternalError(absl::StrCat("ntp_adjtime failed: ", std::strerror(errno)));
  }
  return result != TIME_ERROR && (state.status & STA_UNSYNC) == 0;
}

}  // namespace signet::tsa
