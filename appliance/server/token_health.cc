#include "appliance/server/token_health.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace signet::server {

TokenHealth::TokenHealth(grpc::HealthCheckServiceInterface* health, StateReader read_states,
                         Rescan rescan, TokenHealthOptions options)
    : health_(health),
      read_states_(std::move(read_states)),
      rescan_(std::move(rescan)),
      options_(options) {
  if (health_ == nullptr || !read_states_) return;
  Publish();
  thread_ = std::thread([this] { Run(); });
}

TokenHealth::~TokenHealth() { Stop(); }

std::string TokenHealth::ServiceName(absl::string_view token) {
  return absl::StrCat("signet.token.", token);
}

void TokenHealth::Shutdown() {
  Stop();
  if (health_ == nullptr) return;
  health_->SetServingStatus("", false);
  // Every name NOT_SERVING, and no change after this.
  health_->Shutdown();
}

void TokenHealth::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void TokenHealth::Run() {
  absl::Time next_rescan = absl::Now() + options_.rescan_interval;
  const auto interval = absl::ToChronoNanoseconds(options_.publish_interval);
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (wake_.wait_for(lock, interval, [this] { return stopping_; })) return;
    }
    if (rescan_ && absl::Now() >= next_rescan) {
      rescan_();
      next_rescan = absl::Now() + options_.rescan_interval;
    }
    Publish();
  }
}

void TokenHealth::Publish() {
  for (const TokenStatus& status : read_states_()) {
    PublishIfChanged(ServiceName(status.name), status.state == TokenState::kReady);
  }
  if (options_.audit_writable) PublishIfChanged(kAuditServiceName, options_.audit_writable());
  if (options_.pcscd_available) {
    PublishIfChanged(kPcscdServiceName, options_.pcscd_available());
  }
  if (options_.revocation_fresh) {
    PublishIfChanged(kRevocationServiceName, options_.revocation_fresh());
  }
}

void TokenHealth::PublishIfChanged(const std::string& service, bool serving) {
  auto it = published_.find(service);
  if (it != published_.end() && it->second == serving) return;
  health_->SetServingStatus(service, serving);
  published_[service] = serving;
}

}  // namespace signet::server
