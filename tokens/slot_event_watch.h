// Slot events for tokens whose module does not sit on PC/SC (network HSMs,
// SoftHSM, p11-kit): where the module implements C_WaitForSlotEvent, a token
// that leaves its slot is taken out of service when the module says so,
// instead of at the next failed call, and one that arrives is opened at
// once. Modules that answer CKR_FUNCTION_NOT_SUPPORTED are left to the fault
// path: the next call that fails sends the token to recovery. SoftHSM2
// 2.6.1 answers a non-blocking ask with CKR_NO_EVENT, always: it is watched,
// cheaply, and never reports anything, so its tokens rely on the fault path
// as well.
//
// The watch asks with CKF_DONT_BLOCK every poll interval instead of blocking
// in the module: a blocking C_WaitForSlotEvent returns only on an event or
// at C_Finalize, so a thread blocked in it could not be stopped while the
// module is in use.
#ifndef SIGNET_TOKENS_SLOT_EVENT_WATCH_H_
#define SIGNET_TOKENS_SLOT_EVENT_WATCH_H_

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "tokens/pkcs11.h"
#include "tokens/token.h"
#include "tokens/token_registry.h"

namespace signet {

struct SlotEventWatchOptions {
  absl::Duration poll_interval = absl::Milliseconds(200);
};

class SlotEventWatch {
 public:
  // Watches the registry's tokens that are not on PC/SC, on the modules
  // that support slot events; null when there is no such module.
  static std::unique_ptr<SlotEventWatch> Start(const TokenRegistry& registry,
                                               SlotEventWatchOptions options = {});
  SlotEventWatch(const SlotEventWatch&) = delete;
  SlotEventWatch& operator=(const SlotEventWatch&) = delete;
  ~SlotEventWatch();  // stops the thread

  // Slot events received so far, each counted before it is acted on (for
  // tests and status pages).
  uint64_t events() const;

 private:
  struct WatchedModule {
    const Module* module;
    std::vector<std::shared_ptr<Token>> tokens;
  };

  SlotEventWatch(std::vector<WatchedModule> modules, SlotEventWatchOptions options);
  void Run();
  // Takes the module's pending events, one C_WaitForSlotEvent at a time.
  void Drain(const WatchedModule& watched);
  void HandleEvent(const WatchedModule& watched, CK_SLOT_ID slot);

  const std::vector<WatchedModule> modules_;
  const SlotEventWatchOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable stop_requested_;
  bool stopping_ = false;
  uint64_t events_ = 0;
  std::thread thread_;
};

}  // namespace signet

#endif  // SIGNET_TOKENS_SLOT_EVENT_WATCH_H_
