#include "tokens/call_counters.h"

namespace signet {
namespace {

constexpr absl::string_view kNames[] = {
#define SIGNET_P11FN_NAME(name) "C_" #name,
    SIGNET_PKCS11_FUNCTIONS(SIGNET_P11FN_NAME)
#undef SIGNET_P11FN_NAME
};
static_assert(std::size(kNames) == static_cast<std::size_t>(P11Fn::kCount));

}  // namespace

absl::string_view P11FnName(P11Fn fn) { return kNames[static_cast<std::size_t>(fn)]; }

std::map<std::string, uint64_t> CallCounters::Snapshot() const {
  std::map<std::string, uint64_t> result;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    uint64_t n = counts_[i].load(std::memory_order_relaxed);
    if (n != 0) result.emplace(std::string(kNames[i]), n);
  }
  return result;
}

}  // namespace signet
