// The keys signetd's configuration names, on their tokens: the token layer's
// keys, as EVP_PKEYs of Signet's provider in the daemon's own library
// context, with their certificate chains.
#ifndef SIGNET_APPLIANCE_SERVER_KEY_REGISTRY_H_
#define SIGNET_APPLIANCE_SERVER_KEY_REGISTRY_H_

#include <openssl/types.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "appliance/cms/signed_data_template.h"
#include "common/ossl_ptr.h"
#include "signet/config/v1/config.pb.h"
#include "tokens/keys/token_key.h"
#include "tokens/provider/provider.h"
#include "tokens/token_registry.h"

namespace signet::server {

struct ConfiguredKey {
  config::v1::Key config;
  std::shared_ptr<TokenKey> token_key;
  // The key through Signet's provider, for OpenSSL's CMS code.
  EvpPkeyPtr key;
  // The key's certificate first, then its issuers.
  std::vector<X509Ptr> chain;
  // Its SignedData templates (cms::Signer::templates), dropped with it.
  std::unique_ptr<cms::SignerTemplateCache> templates =
      std::make_unique<cms::SignerTemplateCache>();
};

class KeyRegistry : public provider::KeyResolver, public std::enable_shared_from_this<KeyRegistry> {
 public:
  // Opens every token and loads every key of a validated config. A token
  // that is absent, or a key that cannot be loaded yet, does not stop the
  // daemon: its key is reported unavailable and loaded on a later use.
  static absl::StatusOr<std::shared_ptr<KeyRegistry>> Create(const config::v1::Config& config);
  ~KeyRegistry() override;

  // The key, loaded now if it was not yet. NOT_FOUND for a name the config
  // does not have; the loading error (UNAVAILABLE for a token that is not
  // there) otherwise.
  absl::StatusOr<std::shared_ptr<const ConfiguredKey>> Get(absl::string_view name);

  // Drops the loaded key (after its certificate changed): the next Get
  // loads it afresh.
  void Forget(absl::string_view name);

  // For the provider: the token key behind a configured key name.
  absl::StatusOr<std::shared_ptr<TokenKey>> Resolve(absl::string_view reference) override;

  OSSL_LIB_CTX* libctx() const { return libctx_; }
  TokenRegistry& tokens() { return tokens_; }
  const config::v1::Config& config() const { return config_; }

 private:
  explicit KeyRegistry(config::v1::Config config) : config_(std::move(config)) {}
  absl::Status OpenTokens();
  absl::StatusOr<std::shared_ptr<const ConfiguredKey>> Load(const config::v1::Key& key);

  config::v1::Config config_;
  TokenRegistry tokens_;
  OSSL_LIB_CTX* libctx_ = nullptr;
  std::unique_ptr<provider::LoadedProviders> providers_;
  // keys_mutex_ guards the loaded keys and the per-key load locks; it is
  // never held while a key loads. Loading calls the provider, which calls
  // Resolve: the token keys have a lock of their own.
  std::mutex keys_mutex_;
  std::map<std::string, std::shared_ptr<const ConfiguredKey>, std::less<>> keys_;
  std::map<std::string, std::shared_ptr<std::mutex>, std::less<>> load_locks_;
  std::mutex token_keys_mutex_;
  std::map<std::string, std::shared_ptr<TokenKey>, std::less<>> token_keys_;
};

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_KEY_REGISTRY_H_
