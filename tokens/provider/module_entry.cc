// The provider as a module OpenSSL loads (signet.so), so that the openssl
// command line, and any OpenSSL 3 program, can use token keys by RFC 7512
// pkcs11: URIs (docs/architecture.md, decision D7). It is the same provider as the
// daemon's built-in one, with a resolver that understands URIs and is
// configured by the provider's section of openssl.cnf:
//
//   [signet_sect]
//   module = /usr/lib/x86_64-linux-gnu/ossl-modules/signet.so
//   pkcs11-module = /usr/lib/softhsm/libsofthsm2.so   # the default
//   pin-source = file:/etc/signet/user.pin            # or env:NAME
//   allow-imported-keys = no                          # the default
//   activate = 1
//
// A URI's module-path and pin-source override the configured ones. PINs
// are never taken from the configuration or a URI (pin-value), nor asked
// for at a prompt (docs/architecture.md, decision D10).
//
// Only OSSL_provider_init is exported (see module_entry.map): the token
// layer linked into the module stays private to it, so a program with its
// own copy keeps its own module registry, log sink and statics.
#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/params.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "tokens/provider/provider_context.h"
#include "tokens/provider/uri_key_resolver.h"

namespace signet::provider {
namespace {

constexpr char kModuleParam[] = "pkcs11-module";
constexpr char kPinSourceParam[] = "pin-source";
constexpr char kAllowImportedKeysParam[] = "allow-imported-keys";
// Asked for only to refuse it: a PIN does not belong in openssl.cnf.
constexpr char kPinValueParam[] = "pin-value";

absl::StatusOr<bool> ParseYesNo(absl::string_view name, absl::string_view value) {
  const std::string lower = absl::AsciiStrToLower(value);
  if (lower == "yes" || lower == "true" || lower == "on" || lower == "1") return true;
  if (lower == "no" || lower == "false" || lower == "off" || lower == "0") return false;
  return absl::InvalidArgumentError(absl::StrCat(name, " must be yes or no"));
}

// The provider's configuration section, through the core. Every value is a
// string there; a missing one keeps its default.
absl::StatusOr<UriKeyResolverOptions> ReadConfiguration(const ProviderContext& core) {
  UriKeyResolverOptions options;
  if (core.get_params == nullptr) return options;
  char* module = nullptr;
  char* pin_source = nullptr;
  char* allow_imported_keys = nullptr;
  char* pin_value = nullptr;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_ptr(kModuleParam, &module, 0),
      OSSL_PARAM_construct_utf8_ptr(kPinSourceParam, &pin_source, 0),
      OSSL_PARAM_construct_utf8_ptr(kAllowImportedKeysParam, &allow_imported_keys, 0),
      OSSL_PARAM_construct_utf8_ptr(kPinValueParam, &pin_value, 0), OSSL_PARAM_END};
  if (core.get_params(core.handle, params) != 1) {
    return absl::InternalError("cannot read the provider's configuration from OpenSSL");
  }
  if (pin_value != nullptr) {
    return absl::InvalidArgumentError(
        "pin-value is not accepted in the provider's configuration; use pin-source "
        "(file:/path to a mode 0600 file, or env:NAME)");
  }
  if (module != nullptr) options.module_path = module;
  if (pin_source != nullptr) options.pin_source = pin_source;
  if (allow_imported_keys != nullptr) {
    ASSIGN_OR_RETURN(bool allow, ParseYesNo(kAllowImportedKeysParam, allow_imported_keys));
    options.policy.allow_imported_keys = allow;
  }
  return options;
}

// A resolver for a configuration that cannot work: every key lookup says
// why. A provider that fails to initialise from openssl.cnf is dropped by
// OpenSSL without showing our error, and the user would read only that no
// loader knows pkcs11: URIs.
class MisconfiguredResolver : public KeyResolver {
 public:
  explicit MisconfiguredResolver(absl::Status status) : status_(std::move(status)) {}
  absl::StatusOr<std::shared_ptr<TokenKey>> Resolve(absl::string_view reference) override {
    (void)reference;
    return status_;
  }

 private:
  const absl::Status status_;
};

// The resolvers of this module's live instances, for AbandonAtExit.
std::mutex& LiveMutex() {
  static auto* mutex = new std::mutex();
  return *mutex;
}
std::vector<std::weak_ptr<UriKeyResolver>>& LiveResolvers() {
  static auto* live = new std::vector<std::weak_ptr<UriKeyResolver>>();
  return *live;
}

// Registered after OpenSSL's own atexit handler (OpenSSL is initialised
// before it loads any provider), so it runs before OpenSSL tears the
// providers down; see UriKeyResolver::AbandonForExit. A provider unloaded
// before exit is torn down normally, tokens closed and module finalised.
// (Were the module unloaded first, glibc runs this at its dlclose, when
// nothing is left to abandon.)
void AbandonAtExit() {
  std::lock_guard<std::mutex> lock(LiveMutex());
  for (const std::weak_ptr<UriKeyResolver>& weak : LiveResolvers()) {
    if (std::shared_ptr<UriKeyResolver> resolver = weak.lock()) resolver->AbandonForExit();
  }
  LiveResolvers().clear();
}

void AddLiveResolver(const std::shared_ptr<UriKeyResolver>& resolver) {
  static std::once_flag at_exit;
  std::call_once(at_exit, [] { std::atexit(&AbandonAtExit); });
  std::lock_guard<std::mutex> lock(LiveMutex());
  std::erase_if(LiveResolvers(), [](const auto& weak) { return weak.expired(); });
  LiveResolvers().push_back(resolver);
}

std::shared_ptr<KeyResolver> MakeResolver(const ProviderContext& core) {
  absl::StatusOr<UriKeyResolverOptions> options = ReadConfiguration(core);
  absl::StatusOr<std::shared_ptr<UriKeyResolver>> resolver =
      options.ok() ? UriKeyResolver::Create(*std::move(options)) : options.status();
  if (!resolver.ok()) {
    return std::make_shared<MisconfiguredResolver>(absl::FailedPreconditionError(absl::StrCat(
        "the Signet provider's configuration is not usable: ", resolver.status().message())));
  }
  AddLiveResolver(*resolver);
  return *std::move(resolver);
}

}  // namespace
}  // namespace signet::provider

extern "C" int OSSL_provider_init(const OSSL_CORE_HANDLE* handle, const OSSL_DISPATCH* in,
                                  const OSSL_DISPATCH** out, void** provctx) {
  signet::provider::ProviderContext core;
  signet::provider::CaptureCoreFunctions(handle, in, &core);
  // A command-line tool's stderr is for its own output and our errors;
  // "token ready" notes would only be noise there.
  signet::SetMinLogLevel(signet::LogLevel::kWarning);
  // The instance owns its resolver: no application exists here to own it
  // and hand the provider a weak reference, as the daemon does. The built-in
  // provider holds it weakly to avoid a cycle through OpenSSL's cache of
  // exported keys (provider_context.h); none forms here, because the token
  // keys' public EVP_PKEYs stay inside the provider, used only with
  // provider=default, and are never exported to Signet's keymgmt. The
  // resolver, its tokens and the PKCS#11 module go at teardown.
  return signet::provider::InitProvider(handle, in, out, provctx,
                                        signet::provider::MakeResolver(core));
}
