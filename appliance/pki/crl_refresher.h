// The background half of the CRL cache: a thread that keeps the CRLs in use
// fresh (CrlStore::RefreshDue) so that no caller waits for a fetch when a
// cached CRL reaches its nextUpdate, and that reads changed CRL files even
// when no verification asks. It holds no key and runs on no token's queue.
#ifndef SIGNET_APPLIANCE_PKI_CRL_REFRESHER_H_
#define SIGNET_APPLIANCE_PKI_CRL_REFRESHER_H_

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/time/time.h"
#include "appliance/pki/crl_store.h"

namespace signet::pki {

class CrlRefresher {
 public:
  // Starts the thread; it looks every `interval`.
  CrlRefresher(std::shared_ptr<CrlStore> store, absl::Duration interval);
  CrlRefresher(const CrlRefresher&) = delete;
  CrlRefresher& operator=(const CrlRefresher&) = delete;
  // Stops the thread; a fetch under way finishes first (at most the fetch
  // timeout).
  ~CrlRefresher();

  // Rounds done so far (for tests and the log).
  int rounds() const;

 private:
  void Loop();

  const std::shared_ptr<CrlStore> store_;
  const absl::Duration interval_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  int rounds_ = 0;
  std::thread thread_;
};

}  // namespace signet::pki

#endif  // SIGNET_APPLIANCE_PKI_CRL_REFRESHER_H_
