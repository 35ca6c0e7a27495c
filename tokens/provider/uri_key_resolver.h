// Token keys named by RFC 7512 pkcs11: URIs, for the provider as a loadable
// module (signet.so): there the names are what `openssl` users type, and no
// daemon configuration says which tokens exist, so the URI says it all.
#ifndef SIGNET_TOKENS_PROVIDER_URI_KEY_RESOLVER_H_
#define SIGNET_TOKENS_PROVIDER_URI_KEY_RESOLVER_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tokens/keys/key_policy.h"
#include "tokens/keys/token_key.h"
#include "tokens/module.h"
#include "tokens/pin_source.h"
#include "tokens/provider/provider.h"
#include "tokens/token.h"

namespace signet::provider {

inline constexpr char kDefaultPkcs11Module[] = "/usr/lib/softhsm/libsofthsm2.so";

struct UriKeyResolverOptions {
  // The PKCS#11 module for URIs without module-path.
  std::string module_path = kDefaultPkcs11Module;
  // A PIN source as ParsePinSource reads it, for URIs without pin-source;
  // empty for none (then only tokens without login work).
  std::string pin_source;
  KeyPolicy policy;
  // How long opening a token and finding a key may take.
  absl::Duration timeout = absl::Seconds(30);
};

class UriKeyResolver : public KeyResolver {
 public:
  // Fails for a PIN source that does not parse (the error never repeats it).
  static absl::StatusOr<std::shared_ptr<UriKeyResolver>> Create(UriKeyResolverOptions options);

  // `reference` is a pkcs11: URI naming a private key by object= (CKA_LABEL)
  // and/or id= (CKA_ID) on the token its token attributes select. One Token
  // per module, token selector and PIN source is opened and kept, so a PIN
  // the token rejected is not presented again by a later URI; keys are kept
  // per URI. Errors never repeat the URI as given, only its canonical form
  // (which can hold no PIN).
  absl::StatusOr<std::shared_ptr<TokenKey>> Resolve(absl::string_view reference) override;

  // For a process that is exiting: forgets the tokens and keys without
  // closing them, so that no PKCS#11 call happens later. OpenSSL tears
  // providers down in its atexit handler, after the exit-time destructors of
  // modules loaded later (SoftHSM's among them) have run; a C_CloseSession or
  // C_Finalize then crashes. The process ends anyway, and with it every
  // session and login.
  void AbandonForExit();

 private:
  UriKeyResolver(UriKeyResolverOptions options, std::shared_ptr<const PinSource> pin_source)
      : options_(std::move(options)), pin_source_(std::move(pin_source)) {}

  // Requires mutex_.
  absl::StatusOr<std::shared_ptr<Token>> TokenFor(const std::shared_ptr<Module>& module,
                                                  const TokenSelector& selector,
                                                  std::shared_ptr<const PinSource> pin_source);

  const UriKeyResolverOptions options_;
  const std::shared_ptr<const PinSource> pin_source_;

  // One lock for all: resolving is rare (once per key and process), and
  // the first use of a token must not race with another opening it.
  std::mutex mutex_;
  // By module, token selector and PIN source description.
  std::map<std::tuple<const Module*, std::string, std::string>, std::shared_ptr<Token>> tokens_;
  // By canonical URI.
  std::map<std::string, std::shared_ptr<TokenKey>, std::less<>> keys_;
};

}  // namespace signet::provider

#endif  // SIGNET_TOKENS_PROVIDER_URI_KEY_RESOLVER_H_
