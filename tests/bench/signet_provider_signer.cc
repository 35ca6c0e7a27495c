#include "tests/bench/signet_provider_signer.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/bench/smime_sign.h"
#include "tokens/keys/token_key.h"
#include "tokens/module.h"
#include "tokens/pin_source.h"
#include "tokens/token.h"

namespace signet::bench {
namespace {

absl::Status OpensslFailed(const char* what) {
  return absl::InternalError(absl::StrCat(what, ": ", ERR_reason_error_string(ERR_get_error())));
}

// The one key, under the name "key".
class OneKey : public provider::KeyResolver {
 public:
  explicit OneKey(std::shared_ptr<TokenKey> key) : key_(std::move(key)) {}
  absl::StatusOr<std::shared_ptr<TokenKey>> Resolve(absl::string_view reference) override {
    if (reference != "key") return absl::NotFoundError("no such key");
    return key_;
  }

 private:
  std::shared_ptr<TokenKey> key_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SignetProviderSigner>> SignetProviderSigner::Open(
    const std::string& module_path, const std::string& token_label, const std::string& pin_file,
    const std::string& key_label, const std::string& certificate_pem, int max_in_flight,
    bool verify_ecdsa) {
  absl::StatusOr<std::shared_ptr<Module>> module = Module::Load(module_path);
  if (!module.ok()) return module.status();
  absl::StatusOr<std::shared_ptr<Token>> token =
      Token::Open(*module, {.name = token_label,
                            .selector = TokenSelector::ByLabel(token_label),
                            .pin_source = std::make_shared<FilePinSource>(pin_file),
                            .max_in_flight = max_in_flight,
                            .verify_ecdsa = verify_ecdsa});
  if (!token.ok()) return token.status();
  absl::StatusOr<std::shared_ptr<TokenKey>> key = TokenKey::Load(
      *token, KeySelector::ByLabel(key_label), KeyPolicy{}, absl::Now() + absl::Seconds(30));
  if (!key.ok()) return key.status();
  std::unique_ptr<SignetProviderSigner> signer(new SignetProviderSigner());
  signer->libctx_ = OSSL_LIB_CTX_new();
  signer->resolver_ = std::make_shared<OneKey>(*key);
  absl::StatusOr<std::unique_ptr<provider::LoadedProviders>> providers =
      provider::RegisterBuiltinProvider(signer->libctx_, signer->resolver_);
  if (!providers.ok()) return providers.status();
  signer->providers_ = std::move(*providers);
  absl::StatusOr<EvpPkeyPtr> pkey = provider::LoadTokenKey(signer->libctx_, "key");
  if (!pkey.ok()) return pkey.status();
  signer->key_ = std::move(*pkey);
  BioPtr bio = ReadBio(certificate_pem);
  signer->certificate_.reset(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!signer->certificate_) return OpensslFailed("certificate");
  return signer;
}

SignetProviderSigner::~SignetProviderSigner() {
  // As provider.h asks: keys, then the providers, then the context.
  key_.reset();
  resolver_.reset();
  providers_.reset();
  if (libctx_ != nullptr) OSSL_LIB_CTX_free(libctx_);
}

absl::StatusOr<std::string> SignetProviderSigner::Sign(const std::string& mail) const {
  return SignSmimeDetached(certificate_.get(), key_.get(), mail, libctx_);
}

}  // namespace signet::bench
