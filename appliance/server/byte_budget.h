// The memory that mail calls in flight may hold, for the whole daemon and
// per caller (config: limits.max_buffered_bytes and
// max_caller_buffered_bytes). A call draws on it as its chunks arrive, not
// from the size its header announces, so a client that announces a large
// mail and sends little holds little. A call that would go over is refused
// at once (RESOURCE_EXHAUSTED, retryable) rather than made to wait: the
// bytes it waits for may belong to a stalled upload that only the idle
// timeout ends. The per-caller share keeps one caller's stalled uploads
// from starving the others.
#ifndef SIGNET_APPLIANCE_SERVER_BYTE_BUDGET_H_
#define SIGNET_APPLIANCE_SERVER_BYTE_BUDGET_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace signet::server {

class ByteBudget {
 public:
  ByteBudget(std::uint64_t total, std::uint64_t per_caller);
  ByteBudget(const ByteBudget&) = delete;
  ByteBudget& operator=(const ByteBudget&) = delete;

  // One call's share. Gives back what it holds when destroyed.
  class Lease {
   public:
    // Holds nothing and can take nothing (a call not admitted yet).
    Lease() = default;
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    ~Lease() { Resize(0); }

    // Takes `bytes` more; RESOURCE_EXHAUSTED, taking nothing, when the
    // daemon's or the caller's budget would go over.
    absl::Status Grow(std::uint64_t bytes);
    // Holds exactly `bytes`, over the budget if need be: for a result that
    // is already made (and audited), which is better sent than dropped;
    // new uploads are refused until the budget recovers.
    void Resize(std::uint64_t bytes);
    std::uint64_t held() const { return held_; }

   private:
    friend class ByteBudget;
    Lease(ByteBudget* budget, std::string caller) : budget_(budget), caller_(std::move(caller)) {}

    ByteBudget* budget_ = nullptr;
    std::string caller_;
    std::uint64_t held_ = 0;
  };

  // A lease for one call of `caller`, holding nothing yet.
  Lease Open(absl::string_view caller) { return Lease(this, std::string(caller)); }

  std::uint64_t total() const { return total_; }
  std::uint64_t per_caller() const { return per_caller_; }
  // What all calls, or one caller's, hold now.
  std::uint64_t used() const;
  std::uint64_t used_by(absl::string_view caller) const;

 private:
  absl::Status Take(const std::string& caller, std::uint64_t bytes);
  void Set(const std::string& caller, std::uint64_t from, std::uint64_t to);

  const std::uint64_t total_;
  const std::uint64_t per_caller_;
  mutable std::mutex mutex_;
  std::uint64_t used_ = 0;
  // Callers holding anything (an entry goes when its count reaches 0).
  std::map<std::string, std::uint64_t, std::less<>> by_caller_;
};

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_BYTE_BUDGET_H_
