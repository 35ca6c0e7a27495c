#include "tokens/pcsc/pcsc_token_watch.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace signet {

std::unique_ptr<PcscTokenWatch> PcscTokenWatch::Start(const TokenRegistry& registry,
                                                      ReaderMonitorOptions options) {
  std::vector<std::shared_ptr<Token>> tokens = registry.Tokens(/*on_pcsc=*/true);
  if (tokens.empty()) return nullptr;
  auto watch = std::make_unique<PcscTokenWatch>(std::move(tokens));
  PcscTokenWatch* raw = watch.get();
  watch->monitor_ =
      ReaderMonitor::Start([raw](const ReaderEvent& event) { raw->Handle(event); }, options);
  return watch;
}

PcscTokenWatch::PcscTokenWatch(std::vector<std::shared_ptr<Token>> tokens)
    : tokens_(std::move(tokens)) {}

PcscTokenWatch::~PcscTokenWatch() {
  if (monitor_) monitor_->Stop();
}

ReaderMonitorStatus PcscTokenWatch::MonitorStatus() const {
  return monitor_ ? monitor_->Status() : ReaderMonitorStatus{};
}

void PcscTokenWatch::Handle(const ReaderEvent& event) {
  std::lock_guard<std::mutex> lock(handle_mutex_);
  switch (event.kind) {
    case ReaderEventKind::kCardRemoved:
    case ReaderEventKind::kReaderRemoved: {
      const std::string reason =
          event.kind == ReaderEventKind::kCardRemoved
              ? absl::StrCat("its card was removed from reader '", event.reader, "'")
              : absl::StrCat("its reader '", event.reader, "' was unplugged");
      for (const auto& token : tokens_) {
        if (OnReader(*token, event.reader)) token->MarkAbsent(reason);
      }
      break;
    }
    case ReaderEventKind::kPcscdUnavailable:
      // Nothing can reach a card without pcscd; calls fail fast until it is
      // back, and then every card is opened afresh.
      for (const auto& token : tokens_) {
        token->MarkAbsent(absl::StrCat("pcscd is unavailable (", event.detail, ")"));
      }
      break;
    case ReaderEventKind::kCardInserted:
    case ReaderEventKind::kReaderAdded:
    case ReaderEventKind::kPcscdAvailable:
      for (const auto& token : tokens_) {
        const TokenStatus status = token->Status();
        if (status.state != TokenState::kAbsent && status.state != TokenState::kRecovering) {
          continue;
        }
        // An operation still failing on the card that left: the module is
        // not asked beside it (see the header); the registry's periodic
        // rescan comes back for this token.
        if (status.in_flight > 0) continue;
        // A failure is in the token's status (and logged there); the
        // registry's periodic rescan tries again.
        (void)token->Rescan();
      }
      break;
  }
}

bool PcscTokenWatch::OnReader(const Token& token, const std::string& reader) {
  const TokenDescription description = token.Status().description;
  if (description.slot_description.empty()) return false;
  return !SlotsForReader({SlotDescription{.slot = description.slot,
                                          .description = description.slot_description}},
                         reader)
              .empty();
}

}  // namespace signet
