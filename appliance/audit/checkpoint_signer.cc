#include "appliance/audit/checkpoint_signer.h"

#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/openssl_error.h"
#include "common/ossl_ptr.h"

namespace signet::audit {
namespace {

class EvpCheckpointSigner : public CheckpointSigner {
 public:
  EvpCheckpointSigner(EvpPkeyPtr key, bool is_rsa, std::string public_key_der, OSSL_LIB_CTX* libctx,
                      std::optional<std::string> propq)
      : key_(std::move(key)),
        is_rsa_(is_rsa),
        public_key_der_(std::move(public_key_der)),
        libctx_(libctx),
        propq_(std::move(propq)) {}

  absl::StatusOr<std::string> Sign(absl::string_view statement) override {
    EvpMdCtxPtr context(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pkey_context = nullptr;
    if (!context ||
        EVP_DigestSignInit_ex(context.get(), &pkey_context, "SHA256", libctx_,
                              propq_ ? propq_->c_str() : nullptr, key_.get(), nullptr) != 1) {
      return OpenSslError(absl::StatusCode::kUnavailable, "cannot start a checkpoint signature");
    }
    // Explicit, so that a key whose provider defaults to another padding
    // still makes what the verifier expects.
    if (is_rsa_ && EVP_PKEY_CTX_set_rsa_padding(pkey_context, RSA_PKCS1_PADDING) != 1) {
      return OpenSslError(absl::StatusCode::kUnavailable, "cannot select PKCS#1 v1.5 padding");
    }
    const auto* data = reinterpret_cast<const unsigned char*>(statement.data());
    size_t size = 0;
    if (EVP_DigestSign(context.get(), nullptr, &size, data, statement.size()) != 1) {
      return OpenSslError(absl::StatusCode::kUnavailable, "cannot sign a checkpoint");
    }
    std::string signature(size, '\0');
    if (EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                       data, statement.size()) != 1) {
      return OpenSslError(absl::StatusCode::kUnavailable, "cannot sign a checkpoint");
    }
    signature.resize(size);
    return signature;
  }

  std::string PublicKeyDer() const override { return public_key_der_; }

 private:
  EvpPkeyPtr key_;
  bool is_rsa_;
  std::string public_key_der_;
  OSSL_LIB_CTX* libctx_;
  std::optional<std::string> propq_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<CheckpointSigner>> NewEvpCheckpointSigner(EVP_PKEY* key,
                                                                         OSSL_LIB_CTX* libctx,
                                                                         const char* propq) {
  if (key == nullptr) return absl::InvalidArgumentError("no audit key");
  const bool is_rsa = EVP_PKEY_is_a(key, "RSA");
  if (!is_rsa && !EVP_PKEY_is_a(key, "EC")) {
    return absl::InvalidArgumentError("the audit key must be an RSA or EC key");
  }
  unsigned char* der = nullptr;
  int size = i2d_PUBKEY(key, &der);
  if (size <= 0) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "cannot encode the audit key's public key");
  }
  std::string public_key_der(reinterpret_cast<const char*>(der), static_cast<size_t>(size));
  OPENSSL_free(der);
  EVP_PKEY_up_ref(key);
  return std::make_unique<EvpCheckpointSigner>(
      EvpPkeyPtr(key), is_rsa, std::move(public_key_der), libctx,
      propq ? std::optional<std::string>(propq) : std::nullopt);
}

}  // namespace signet::audit
