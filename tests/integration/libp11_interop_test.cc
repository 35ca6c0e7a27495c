// Keys Signet generates are found through libp11 and sign there: libp11 is
// the independent PKCS#11 consumer (docs/architecture.md, decision D23). Both run in this
// process, one after the other: Signet releases the module (C_Finalize and
// dlclose) before libp11 loads it again, as two applications sharing a token
// would see it.
//
// libp11 0.4.12's header does not include a PKCS#11 header of its own, so it
// and tokens/ share this translation unit without conflicting definitions.

// libp11 hands out legacy RSA / EC_KEY objects (their methods call the
// token); looking inside them takes the API OpenSSL 3 deprecates.
#define OPENSSL_SUPPRESS_DEPRECATED

#include <libp11.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "common/der.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/token_env.h"
#include "tokens/keys/keygen.h"
#include "tokens/keys/public_key.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;

using fixtures::Deadline;
using fixtures::Digest;
using fixtures::OpenSslVerifies;
using fixtures::TokenEnv;

// What phase 1 learned from Signet, for phase 2 to check against.
struct GeneratedKey {
  std::string label;
  std::string id;
  KeyType type;
  std::string public_key_der;
};

EvpPkeyPtr PublicKeyFromDer(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  return EvpPkeyPtr(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
}

// Through the EVP_PKEY libp11 made: its RSA_METHOD / EC_KEY_METHOD turn
// this into C_Sign on the token.
std::string SignThroughLibp11(EVP_PKEY* key, KeyType type, const std::string& digest) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(key, nullptr));
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1) return {};
  if (type == KeyType::kRsa && EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1) {
    return {};
  }
  if (EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) != 1) return {};
  const auto* tbs = reinterpret_cast<const unsigned char*>(digest.data());
  size_t length = 0;
  if (EVP_PKEY_sign(ctx.get(), nullptr, &length, tbs, digest.size()) != 1) return {};
  std::string signature(length, '\0');
  if (EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, tbs,
                    digest.size()) != 1) {
    return {};
  }
  signature.resize(length);
  return signature;
}

const PKCS11_KEY* FindKeyById(const PKCS11_KEY* keys, unsigned int count, const std::string& id) {
  for (unsigned int i = 0; i < count; ++i) {
    if (keys[i].id_len == id.size() && std::memcmp(keys[i].id, id.data(), id.size()) == 0) {
      return &keys[i];
    }
  }
  return nullptr;
}

TEST(Libp11InteropTest, KeysSignetGeneratesAreFoundThroughLibp11AndSignThere) {
  const std::string kLabel = "interop";
  absl::StatusOr<std::unique_ptr<TokenEnv>> created = TokenEnv::Create({.label = kLabel});
  ASSERT_THAT(created, IsOk());
  std::unique_ptr<TokenEnv> env = std::move(*created);
  const std::string user_pin = env->info.user_pin;

  // --- Phase 1: Signet makes the keys. ---------------------------------------
  std::vector<GeneratedKey> generated;
  const struct {
    const char* label;
    std::string id;
    KeyAlgorithm algorithm;
  } specs[] = {{"mail-rsa", std::string("\x0a\x01", 2), KeyAlgorithm::kRsa2048},
               {"mail-ec", std::string("\x0a\x02", 2), KeyAlgorithm::kEcP256}};
  for (const auto& spec : specs) {
    absl::StatusOr<std::shared_ptr<TokenKey>> key = GenerateKeyPair(
        env->token, {.label = spec.label, .id = spec.id, .algorithm = spec.algorithm}, Deadline());
    ASSERT_THAT(key, IsOk());
    absl::StatusOr<std::string> der = PublicKeyDer((*key)->public_key());
    ASSERT_THAT(der, IsOk());
    generated.push_back({spec.label, (*key)->id(), (*key)->type(), *der});
  }
  // Everything Signet holds goes, so the module is finalised and unloaded;
  // the SoftHSM installation (its token directory) stays.
  std::weak_ptr<Module> module = env->module;
  env->token.reset();
  env->module.reset();
  ASSERT_TRUE(module.expired()) << "something still holds Signet's module";

  // --- Phase 2: libp11 finds and uses them. ----------------------------------
  PKCS11_CTX* ctx = PKCS11_CTX_new();
  ASSERT_NE(ctx, nullptr);
  absl::Cleanup free_ctx = [ctx] { PKCS11_CTX_free(ctx); };
  ASSERT_EQ(PKCS11_CTX_load(ctx, fixtures::SoftHsm::ModulePath().c_str()), 0);
  absl::Cleanup unload = [ctx] { PKCS11_CTX_unload(ctx); };
  PKCS11_SLOT* slots = nullptr;
  unsigned int slot_count = 0;
  ASSERT_EQ(PKCS11_enumerate_slots(ctx, &slots, &slot_count), 0);
  absl::Cleanup release_slots = [ctx, &slots, &slot_count] {
    PKCS11_release_all_slots(ctx, slots, slot_count);
  };
  PKCS11_SLOT* slot = PKCS11_find_token(ctx, slots, slot_count);
  ASSERT_NE(slot, nullptr);
  ASSERT_NE(slot->token, nullptr);
  EXPECT_STREQ(slot->token->label, kLabel.c_str());
  EXPECT_TRUE(slot->token->loginRequired);
  ASSERT_EQ(PKCS11_open_session(slot, 0), 0);

  // CKA_PRIVATE: before login libp11 sees the public halves only.
  PKCS11_KEY* keys = nullptr;
  unsigned int key_count = 0;
  ASSERT_EQ(PKCS11_enumerate_public_keys(slot->token, &keys, &key_count), 0);
  EXPECT_EQ(key_count, generated.size());
  ASSERT_EQ(PKCS11_enumerate_keys(slot->token, &keys, &key_count), 0);
  EXPECT_EQ(key_count, 0u) << "private keys visible without login";

  ASSERT_EQ(PKCS11_login(slot, 0, user_pin.c_str()), 0);
  ASSERT_EQ(PKCS11_enumerate_keys(slot->token, &keys, &key_count), 0);
  ASSERT_EQ(key_count, generated.size());

  const std::string digest = Digest(HashAlgorithm::kSha256, "statement for account 42");
  for (const GeneratedKey& expected : generated) {
    SCOPED_TRACE(expected.label);
    const PKCS11_KEY* found = FindKeyById(keys, key_count, expected.id);
    ASSERT_NE(found, nullptr);
    EXPECT_STREQ(found->label, expected.label.c_str());
    // libp11 0.4.12 exposes no CKA_EXTRACTABLE or CKA_SENSITIVE; isPrivate is
    // what it has (needLogin is never filled in by this version).
    EXPECT_TRUE(found->isPrivate);
    EXPECT_EQ(PKCS11_get_key_type(const_cast<PKCS11_KEY*>(found)),
              expected.type == KeyType::kRsa ? EVP_PKEY_RSA : EVP_PKEY_EC);

    EvpPkeyPtr private_key(PKCS11_get_private_key(const_cast<PKCS11_KEY*>(found)));
    ASSERT_NE(private_key, nullptr);
    // The same key as Signet generated ...
    EXPECT_EQ((DerOf<EVP_PKEY, i2d_PUBKEY>(private_key.get())), expected.public_key_der);
    // ... and libp11 holds no private value of it: a signature can only have
    // come from the token.
    if (expected.type == KeyType::kRsa) {
      const BIGNUM* d = nullptr;
      RSA_get0_key(EVP_PKEY_get0_RSA(private_key.get()), nullptr, nullptr, &d);
      EXPECT_EQ(d, nullptr);
    } else {
      // libp11 puts a zero placeholder where the scalar would be.
      const BIGNUM* scalar = EC_KEY_get0_private_key(EVP_PKEY_get0_EC_KEY(private_key.get()));
      EXPECT_TRUE(scalar == nullptr || BN_is_zero(scalar));
    }

    std::string signature = SignThroughLibp11(private_key.get(), expected.type, digest);
    ASSERT_FALSE(signature.empty()) << "libp11 could not sign";
    EvpPkeyPtr recorded = PublicKeyFromDer(expected.public_key_der);
    ASSERT_NE(recorded, nullptr);
    const SignatureScheme scheme =
        expected.type == KeyType::kRsa ? SignatureScheme::kRsaPkcs1 : SignatureScheme::kEcdsa;
    EXPECT_TRUE(OpenSslVerifies(recorded.get(), scheme, HashAlgorithm::kSha256, digest, signature));
    EXPECT_FALSE(OpenSslVerifies(recorded.get(), scheme, HashAlgorithm::kSha256,
                                 Digest(HashAlgorithm::kSha256, "statement for account 43"),
                                 signature));
  }
}

}  // namespace
}  // namespace signet
