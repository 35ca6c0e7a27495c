#include "tokens/slot_event_watch.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "tokens/ck_status.h"

namespace signet {

std::unique_ptr<SlotEventWatch> SlotEventWatch::Start(const TokenRegistry& registry,
                                                      SlotEventWatchOptions options) {
  std::vector<WatchedModule> modules;
  for (const std::shared_ptr<Token>& token : registry.Tokens(/*on_pcsc=*/false)) {
    const Module* module = &token->module();
    auto known = std::find_if(modules.begin(), modules.end(),
                              [&](const WatchedModule& m) { return m.module == module; });
    if (known != modules.end()) {
      known->tokens.push_back(token);
      continue;
    }
    // A first look that also tells whether the module has slot events; an
    // event it returns now is left for the watch's first round to find
    // (by then every token of the module is known).
    CK_SLOT_ID slot = 0;
    const CK_RV rv = SIGNET_P11(*module, WaitForSlotEvent, CKF_DONT_BLOCK, &slot, nullptr);
    if (rv != CKR_OK && rv != CKR_NO_EVENT) {
      Log(LogLevel::kDebug, absl::StrCat(module->info().path, " has no slot events (", CkrName(rv),
                                         "); its tokens are checked on use"));
      continue;
    }
    WatchedModule watched{module, {token}};
    if (rv == CKR_OK) {
      // Nothing was lost by asking: the token states are checked against
      // the slot on the first round anyway.
      Log(LogLevel::kDebug, absl::StrCat("slot event on ", module->info().path, " slot ", slot,
                                         " before the watch started"));
    }
    modules.push_back(std::move(watched));
  }
  if (modules.empty()) return nullptr;
  for (const WatchedModule& watched : modules) {
    Log(LogLevel::kInfo, absl::StrCat("watching the slots of ", watched.module->info().path,
                                      " (C_WaitForSlotEvent)"));
  }
  std::unique_ptr<SlotEventWatch> watch(new SlotEventWatch(std::move(modules), options));
  watch->thread_ = std::thread([raw = watch.get()] { raw->Run(); });
  return watch;
}

SlotEventWatch::SlotEventWatch(std::vector<WatchedModule> modules, SlotEventWatchOptions options)
    : modules_(std::move(modules)), options_(options) {}

SlotEventWatch::~SlotEventWatch() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  stop_requested_.notify_all();
  if (thread_.joinable()) thread_.join();
}

uint64_t SlotEventWatch::events() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return events_;
}

void SlotEventWatch::Run() {
  for (;;) {
    for (const WatchedModule& watched : modules_) Drain(watched);
    std::unique_lock<std::mutex> lock(mutex_);
    if (stop_requested_.wait_for(lock, absl::ToChronoMilliseconds(options_.poll_interval),
                                 [this] { return stopping_; })) {
      return;
    }
  }
}

void SlotEventWatch::Drain(const WatchedModule& watched) {
  // Bounded: a module that reports events without end must not hold the
  // other modules' events back.
  for (int i = 0; i < 64; ++i) {
    CK_SLOT_ID slot = 0;
    const CK_RV rv = SIGNET_P11(*watched.module, WaitForSlotEvent, CKF_DONT_BLOCK, &slot, nullptr);
    if (rv == CKR_NO_EVENT) return;
    if (rv != CKR_OK) {
      // A module that fails here fails its calls too; the fault path of
      // the tokens handles that.
      Log(LogLevel::kDebug,
          absl::StrCat("C_WaitForSlotEvent on ", watched.module->info().path, ": ", CkrName(rv)));
      return;
    }
    {
      // Counted before it is acted on: whoever sees the token change also
      // sees the event that changed it.
      std::lock_guard<std::mutex> lock(mutex_);
      ++events_;
    }
    HandleEvent(watched, slot);
  }
}

void SlotEventWatch::HandleEvent(const WatchedModule& watched, CK_SLOT_ID slot) {
  CK_SLOT_INFO info{};
  const CK_RV rv = SIGNET_P11(*watched.module, GetSlotInfo, slot, &info);
  const bool present = rv == CKR_OK && (info.flags & CKF_TOKEN_PRESENT) != 0;
  for (const std::shared_ptr<Token>& token : watched.tokens) {
    const TokenStatus status = token->Status();
    if (!present) {
      if (status.state != TokenState::kAbsent && status.description.slot == slot) {
        token->MarkAbsent(absl::StrCat("its module reported the token gone from slot ", slot));
      }
      continue;
    }
    // Any token that is not ready may be the one that arrived (an absent
    // token's slot is not known until it is found).
    if (status.state == TokenState::kAbsent || status.state == TokenState::kRecovering) {
      (void)token->Rescan();
    }
  }
}

}  // namespace signet
