#include "appliance/server/byte_budget.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace signet::server {

ByteBudget::ByteBudget(std::uint64_t total, std::uint64_t per_caller)
    : total_(total), per_caller_(per_caller < total ? per_caller : total) {}

ByteBudget::Lease::Lease(Lease&& other) noexcept
    : budget_(std::exchange(other.budget_, nullptr)),
      caller_(std::move(other.caller_)),
      held_(std::exchange(other.held_, 0)) {}

ByteBudget::Lease& ByteBudget::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Resize(0);
    budget_ = std::exchange(other.budget_, nullptr);
    caller_ = std::move(other.caller_);
    held_ = std::exchange(other.held_, 0);
  }
  return *this;
}

absl::Status ByteBudget::Lease::Grow(std::uint64_t bytes) {
  if (budget_ == nullptr) {
    return absl::FailedPreconditionError("the call was not admitted: it holds no buffer budget");
  }
  RETURN_IF_ERROR(budget_->Take(caller_, bytes));
  held_ += bytes;
  return absl::OkStatus();
}

void ByteBudget::Lease::Resize(std::uint64_t bytes) {
  if (budget_ == nullptr || bytes == held_) return;
  budget_->Set(caller_, held_, bytes);
  held_ = bytes;
}

absl::Status ByteBudget::Take(const std::string& caller, std::uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = by_caller_.find(caller);
  const std::uint64_t caller_used = it != by_caller_.end() ? it->second : 0;
  // Resize may have put either over its limit: compare before subtracting.
  if (caller_used > per_caller_ || bytes > per_caller_ - caller_used) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "caller '", caller, "' already holds ", caller_used, " bytes in calls in flight, and its ",
        "limit is ", per_caller_, " (limits.max_caller_buffered_bytes); retry when they finish"));
  }
  if (used_ > total_ || bytes > total_ - used_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("signetd's buffers for calls in flight are full (", used_, " of ", total_,
                     " bytes, limits.max_buffered_bytes); retry later"));
  }
  used_ += bytes;
  if (it == by_caller_.end()) {
    by_caller_.emplace(caller, bytes);
  } else {
    it->second += bytes;
  }
  return absl::OkStatus();
}

void ByteBudget::Set(const std::string& caller, std::uint64_t from, std::uint64_t to) {
  std::lock_guard<std::mutex> lock(mutex_);
  used_ = used_ - from + to;
  auto it = by_caller_.find(caller);
  if (it == by_caller_.end()) it = by_caller_.emplace(caller, 0).first;
  it->second = it->second - from + to;
  if (it->second == 0) by_caller_.erase(it);
}

std::uint64_t ByteBudget::used() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return used_;
}

std::uint64_t ByteBudget::used_by(absl::string_view caller) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = by_caller_.find(caller);
  return it != by_caller_.end() ? it->second : 0;
}

}  // namespace signet::server
