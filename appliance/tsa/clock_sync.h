// Whether the system clock may be trusted for a time-stamp: a TSA that stamps
// with a clock nobody keeps in step vouches for a time it does not know
// (RFC 3161 section 4: the TSA must use a trustworthy source of time).
#ifndef SIGNET_APPLIANCE_TSA_CLOCK_SYNC_H_
#define SIGNET_APPLIANCE_TSA_CLOCK_SYNC_H_

#include <functional>

#include "absl/status/statusor.h"

namespace signet::tsa {

// True when the kernel says an NTP (or PTP, chrony...) daemon keeps the clock
// synchronised: ntp_adjtime() neither returns TIME_ERROR nor reports
// STA_UNSYNC. INTERNAL when the call itself fails (a seccomp filter, say);
// callers treat that as unsynchronised.
absl::StatusOr<bool> KernelClockSynchronized();

// What the responder asks before each stamp; tests inject an answer.
using ClockSyncCheck = std::function<absl::StatusOr<bool>()>;

}  // namespace signet::tsa

#endif  // SIGNET_APPLIANCE_TSA_CLOCK_SYNC_H_
