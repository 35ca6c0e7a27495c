// A loaded PKCS#11 module: dlopen, function-list discovery, one C_Initialize
// per process, and the one wrapper every PKCS#11 call goes through.
#ifndef SIGNET_TOKENS_MODULE_H_
#define SIGNET_TOKENS_MODULE_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tokens/call_counters.h"
#include "tokens/ck_status.h"
#include "tokens/module_mutexes.h"
#include "tokens/pkcs11.h"

namespace signet {

struct ModuleInfo {
  std::string path;
  std::string manufacturer;
  std::string description;
  CK_VERSION cryptoki_version{};  // of the function list in use
  CK_VERSION library_version{};
  bool found_by_get_interface = false;
};

class Module {
 public:
  // Loads the module at `path` (or returns the instance this process already
  // loaded from the same file: PKCS#11 allows one C_Initialize per process).
  static absl::StatusOr<std::shared_ptr<Module>> Load(const std::string& path);

  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  // C_Finalize (unless another component of the process had initialised the
  // module before us), then dlclose.
  ~Module();

  const ModuleInfo& info() const { return info_; }
  const CallCounters& counters() const { return counters_; }

  // Calls one PKCS#11 function and counts it. Use through SIGNET_P11:
  //   CK_RV rv = SIGNET_P11(module, Sign, session, data, len, sig, &sig_len);
  template <typename Member, typename... Args>
  CK_RV Invoke(P11Fn fn, Member member, Args&&... args) const {
    counters_.Add(fn);
    auto function = functions_->*member;
    if (function == nullptr) return CKR_FUNCTION_NOT_SUPPORTED;
    // Shared: calls run in parallel, but never across a re-initialisation.
    std::shared_lock<std::shared_timed_mutex> lock(reinitialize_mutex_);
    CK_RV rv = function(std::forward<Args>(args)...);
    if (ThreadHoldsModuleMutexes()) TakeBackLeakedLocks(fn);
    return rv;
  }

  // C_Finalize + C_Initialize, for a module whose connection to its tokens
  // broke for good (p11-kit's client never reconnects to a restarted server
  // by itself). Every session and login of every token of the module is
  // gone afterwards, and the module may hand out the old session handle
  // numbers again: tokens forget their sessions without closing them.
  // `seen_generation` makes concurrent callers re-initialise once.
  absl::Status Reinitialize(uint64_t seen_generation);
  // Increases with every re-initialisation.
  uint64_t init_generation() const { return init_generation_.load(std::memory_order_acquire); }

  // Set by a token that saw the module itself fail (C_GetSlotList): the
  // module is re-initialised on every recovery attempt until a token is
  // found again.
  void set_suspect(bool suspect) { suspect_.store(suspect, std::memory_order_release); }
  bool suspect() const { return suspect_.load(std::memory_order_acquire); }

 private:
  // A function returned with locks of the module still held (module_mutexes.h):
  // releases them, or every later call would wait forever.
  void TakeBackLeakedLocks(P11Fn fn) const;
  Module() = default;
  absl::Status Initialize();

  ModuleInfo info_;
  void* handle_ = nullptr;
  CK_FUNCTION_LIST* functions_ = nullptr;
  bool finalize_on_destruction_ = false;
  mutable CallCounters counters_;
  mutable std::shared_timed_mutex reinitialize_mutex_;
  std::atomic<uint64_t> init_generation_{1};
  std::atomic<bool> suspect_{false};
};

#define SIGNET_P11(module, name, ...) \
  (module).Invoke(::signet::P11Fn::k##name, &CK_FUNCTION_LIST::C_##name __VA_OPT__(, ) __VA_ARGS__)

// Status for a failed call, naming the function and the CKR_* value.
#define SIGNET_P11_ERROR(name, rv, ...) \
  ::signet::Pkcs11Error("C_" #name, rv __VA_OPT__(, ) __VA_ARGS__)

}  // namespace signet

#endif  // SIGNET_TOKENS_MODULE_H_
