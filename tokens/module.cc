#include "tokens/module.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "tokens/module_mutexes.h"
#include "tokens/objects.h"

namespace signet {
namespace {

// Modules this process has loaded, by canonical path. Weak, so the last user
// of a module finalises it.
// Recursive: a module that fails half-way through Load is destroyed (and
// finalised) while Load still holds the lock.
std::recursive_mutex& LoadedMutex() {
  static std::recursive_mutex mutex;
  return mutex;
}
std::map<std::string, std::weak_ptr<Module>>& Loaded() {
  static auto* loaded = new std::map<std::string, std::weak_ptr<Module>>();
  return *loaded;
}

std::string VersionText(const CK_VERSION& v) { return absl::StrFormat("%d.%d", v.major, v.minor); }

struct Discovered {
  CK_FUNCTION_LIST* functions = nullptr;
  bool by_interface = false;
};

absl::StatusOr<Discovered> DiscoverFunctions(void* handle, const std::string& path) {
  // PKCS#11 3.0 modules are asked for their standard interface first.
  if (auto get_interface = reinterpret_cast<p11::GetInterfaceFn>(dlsym(handle, "C_GetInterface"))) {
    p11::Interface* iface = nullptr;
    CK_UTF8CHAR name[sizeof(p11::kStandardInterfaceName)];
    std::memcpy(name, p11::kStandardInterfaceName, sizeof(name));
    CK_RV rv = get_interface(name, nullptr, &iface, 0);
    if (rv == CKR_OK && iface != nullptr && iface->pFunctionList != nullptr) {
      return Discovered{static_cast<CK_FUNCTION_LIST*>(iface->pFunctionList), true};
    }
  }
  auto get_function_list =
      reinterpret_cast<CK_C_GetFunctionList>(dlsym(handle, "C_GetFunctionList"));
  if (get_function_list == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " is not a PKCS#11 module: it exports neither C_GetInterface nor C_GetFunctionList"));
  }
  CK_FUNCTION_LIST* functions = nullptr;
  CK_RV rv = get_function_list(&functions);
  if (rv != CKR_OK || functions == nullptr) {
    return Pkcs11Error("C_GetFunctionList", rv == CKR_OK ? CKR_GENERAL_ERROR : rv, path);
  }
  return Discovered{functions, false};
}

}  // namespace

absl::StatusOr<std::shared_ptr<Module>> Module::Load(const std::string& path) {
  std::error_code ec;
  std::filesystem::path canonical = std::filesystem::canonical(path, ec);
  if (ec) {
    return absl::NotFoundError(
        absl::StrCat("PKCS#11 module ", path, " cannot be opened: ", ec.message()));
  }
  if (!std::filesystem::is_regular_file(canonical)) {
    return absl::InvalidArgumentError(
        absl::StrCat("PKCS#11 module ", path, " is not a regular file"));
  }

  std::lock_guard<std::recursive_mutex> lock(LoadedMutex());
  auto& loaded = Loaded();
  if (auto it = loaded.find(canonical.string()); it != loaded.end()) {
    if (std::shared_ptr<Module> existing = it->second.lock()) return existing;
  }

  std::shared_ptr<Module> module(new Module());
  module->info_.path = canonical.string();
  // RTLD_LOCAL: two modules may export the same C_* symbols.
  // RTLD_NODELETE: a module's threads and exit handlers can outlive
  // C_Finalize (p11-kit's client, vendor HSM libraries); unmapping its code
  // under them would crash the process. It also keeps the module's frames
  // readable in leak reports at exit.
  module->handle_ = dlopen(module->info_.path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (module->handle_ == nullptr) {
    const char* why = dlerror();
    return absl::InvalidArgumentError(
        absl::StrCat("PKCS#11 module ", path, " cannot be loaded: ", why ? why : "unknown"));
  }
  ASSIGN_OR_RETURN(Discovered discovered, DiscoverFunctions(module->handle_, path));
  module->functions_ = discovered.functions;
  module->info_.found_by_get_interface = discovered.by_interface;
  module->info_.cryptoki_version = module->functions_->version;

  const CK_VERSION& v = module->functions_->version;
  if (v.major != 2 && v.major != 3) {
    return absl::FailedPreconditionError(absl::StrCat("PKCS#11 module ", path,
                                                      " implements Cryptoki ", VersionText(v),
                                                      "; Signet supports versions 2.x and 3.x"));
  }
  if (v.major == 2 && v.minor < 20) {
    return absl::FailedPreconditionError(absl::StrCat("PKCS#11 module ", path,
                                                      " implements Cryptoki ", VersionText(v),
                                                      "; Signet needs at least 2.20"));
  }

  RETURN_IF_ERROR(module->Initialize());
  loaded[module->info_.path] = module;
  return module;
}

absl::Status Module::Initialize() {
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  // Every module gets them (module_mutexes.h): which modules sit on pcscd
  // is only known once their tokens are configured, and a module that would
  // rather lock with the OS's mutexes may still do so.
  UseModuleMutexes(args);
  CK_RV rv = SIGNET_P11(*this, Initialize, &args);
  if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    // Another component of this process (a library that links the module)
    // owns the initialisation; finalising would pull it from under it.
    finalize_on_destruction_ = false;
  } else if (rv != CKR_OK) {
    return SIGNET_P11_ERROR(Initialize, rv, info_.path);
  } else {
    finalize_on_destruction_ = true;
  }

  CK_INFO ck_info{};
  rv = SIGNET_P11(*this, GetInfo, &ck_info);
  if (rv != CKR_OK) return SIGNET_P11_ERROR(GetInfo, rv, info_.path);
  info_.manufacturer = FixedWidthText(ck_info.manufacturerID, sizeof(ck_info.manufacturerID));
  info_.description =
      FixedWidthText(ck_info.libraryDescription, sizeof(ck_info.libraryDescription));
  info_.library_version = ck_info.libraryVersion;
  return absl::OkStatus();
}

absl::Status Module::Reinitialize(uint64_t seen_generation) {
  // Bounded: a call stuck inside the module (p11-kit's client can leave
  // concurrent callers waiting forever on a dead connection) must not stop
  // recovery of the whole appliance with it.
  std::unique_lock<std::shared_timed_mutex> lock(reinitialize_mutex_, std::defer_lock);
  if (!lock.try_lock_for(std::chrono::seconds(10))) {
    return MarkRetryable(absl::UnavailableError(
        absl::StrCat("PKCS#11 module ", info_.path,
                     " cannot be re-initialised: calls into it have not returned for 10 s")));
  }
  if (init_generation_.load() != seen_generation) return absl::OkStatus();
  if (!finalize_on_destruction_) {
    // Another component of the process initialised the module; finalising
    // it would pull the module from under that component.
    return absl::FailedPreconditionError(absl::StrCat(
        "PKCS#11 module ", info_.path,
        " was initialised by another component of this process and cannot be re-initialised"));
  }
  counters_.Add(P11Fn::kFinalize);
  (void)functions_->C_Finalize(nullptr);
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  UseModuleMutexes(args);
  counters_.Add(P11Fn::kInitialize);
  CK_RV rv = functions_->C_Initialize(&args);
  init_generation_.fetch_add(1, std::memory_order_acq_rel);
  if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    return SIGNET_P11_ERROR(Initialize, rv, info_.path);
  }
  finalize_on_destruction_ = rv == CKR_OK;
  Log(LogLevel::kWarning, absl::StrCat("PKCS#11 module ", info_.path, " was re-initialised"));
  return absl::OkStatus();
}

void Module::TakeBackLeakedLocks(P11Fn fn) const {
  const std::size_t released = ReleaseModuleMutexesOfThisThread();
  Log(LogLevel::kWarning, absl::StrCat("PKCS#11 module ", info_.path, " returned from ",
                                       P11FnName(fn), " holding ", released,
                                       " of its locks; released them (OpenSC 0.23 does this when a "
                                       "card leaves during an operation)"));
}

Module::~Module() {
  // Under the load lock, so a concurrent Load of the same file cannot
  // initialise it between our C_Finalize and dlclose.
  std::lock_guard<std::recursive_mutex> lock(LoadedMutex());
  if (functions_ != nullptr && finalize_on_destruction_) SIGNET_P11(*this, Finalize, nullptr);
  if (handle_ != nullptr) dlclose(handle_);
}

}  // namespace signet
