// Connects the PC/SC reader monitor to the tokens that sit on PC/SC: a card
// pulled from a reader takes the token on it out of service at once (calls
// fail with UNAVAILABLE instead of waiting for the card's driver to time
// out), and a card put in brings absent tokens back (opened, logged in once,
// ready) without waiting for traffic.
//
// Which token a reader event concerns is found through its slot: the
// module's slot description names the reader (pcsc_slot_map.h), and a token
// remembers its slot's description from when it was last found. The watch
// itself never calls the module on a removal (OpenSC 0.23 deadlocks when
// C_GetSlotList runs beside a card operation, seen under load in
// signetd_hotplug_test); on an arrival it rescans only tokens that are not
// ready, and only while none of their operations is in flight. Whether the
// card that comes back is the same card is the token's business: it matches
// its pinned serial (token.h).
#ifndef SIGNET_TOKENS_PCSC_TOKEN_WATCH_H_
#define SIGNET_TOKENS_PCSC_TOKEN_WATCH_H_

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tokens/pcsc/pcsc_slot_map.h"
#include "tokens/pcsc/reader_monitor.h"
#include "tokens/token.h"
#include "tokens/token_registry.h"

namespace signet {

class PcscTokenWatch {
 public:
  // Starts a reader monitor for the registry's PC/SC tokens; null when the
  // registry has none (nothing then talks to pcscd).
  static std::unique_ptr<PcscTokenWatch> Start(const TokenRegistry& registry,
                                               ReaderMonitorOptions options = {});
  // Watches `tokens` without a monitor: events come from Handle() (tests).
  explicit PcscTokenWatch(std::vector<std::shared_ptr<Token>> tokens);
  PcscTokenWatch(const PcscTokenWatch&) = delete;
  PcscTokenWatch& operator=(const PcscTokenWatch&) = delete;
  ~PcscTokenWatch();  // stops the monitor

  // Applies one reader event to the tokens (the monitor's callback).
  void Handle(const ReaderEvent& event);

  // The monitor's view (pcscd reachable, readers, last error); a default
  // status without a monitor.
  ReaderMonitorStatus MonitorStatus() const;

 private:
  // Whether `token`'s slot, when it was last found, was `reader`'s.
  static bool OnReader(const Token& token, const std::string& reader);

  const std::vector<std::shared_ptr<Token>> tokens_;
  // Handle() runs on the monitor's thread; tests may call it from theirs.
  std::mutex handle_mutex_;
  std::unique_ptr<ReaderMonitor> monitor_;
};

}  // namespace signet

#endif  // SIGNET_TOKENS_PCSC_TOKEN_WATCH_H_
