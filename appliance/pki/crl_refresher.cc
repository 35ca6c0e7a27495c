#include "appliance/pki/crl_refresher.h"

#include <utility>

namespace signet::pki {

CrlRefresher::CrlRefresher(std::shared_ptr<CrlStore> store, absl::Duration interval)
    : store_(std::move(store)), interval_(interval), thread_([this] { Loop(); }) {}

CrlRefresher::~CrlRefresher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

int CrlRefresher::rounds() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return rounds_;
}

void CrlRefresher::Loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    if (wake_.wait_for(lock, absl::ToChronoNanoseconds(interval_), [this] { return stopping_; })) {
      return;
    }
    lock.unlock();
    store_->RefreshDue();
    lock.lock();
    ++rounds_;
  }
}

}  // namespace signet::pki
