// What signet-milter has done since it started, by direction and outcome,
// for operators (GET /metrics, Prometheus text format): mails signed,
// encrypted, decrypted, deferred, refused, held, and how the calls to
// signetd went. Lock-free; every mail thread counts.
#ifndef SIGNET_APPLIANCE_MILTER_MILTER_COUNTERS_H_
#define SIGNET_APPLIANCE_MILTER_MILTER_COUNTERS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "appliance/milter/received_mail.h"

namespace signet::milter {

enum class MailOutcome {
  kUnchanged,  // passed as it came (no policy, NONE, no key)
  kSigned,
  kEncrypted,  // signed and encrypted, or encrypted only
  kDecrypted,
  kVerified,  // an Authentication-Results field added, without decryption
  kDeferred,  // 4xx
  kRefused,   // 5xx
  kHeld,      // quarantined
  kCount,
};

class MilterCounters {
 public:
  void Count(MailOutcome outcome) {
    counts_[static_cast<size_t>(outcome)].fetch_add(1, std::memory_order_relaxed);
  }
  uint64_t Get(MailOutcome outcome) const {
    return counts_[static_cast<size_t>(outcome)].load(std::memory_order_relaxed);
  }
  // signet_milter_mails_total{outcome="signed"} 12 ...
  std::string PrometheusText() const;

 private:
  std::array<std::atomic<uint64_t>, static_cast<size_t>(MailOutcome::kCount)> counts_{};
};

// The outcome an answer stands for.
MailOutcome OutcomeOf(const MilterAnswer& answer);

}  // namespace signet::milter

#endif  // SIGNET_APPLIANCE_MILTER_MILTER_COUNTERS_H_
