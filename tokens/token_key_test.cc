#include "tokens/token_key.h"

#include <openssl/ec.h>
#include <openssl/rand.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/token_env.h"
#include "tokens/public_key.h"

namespace signet {
namespace {

using fixtures::Deadline;
using fixtures::Digest;
using fixtures::Hex;
using fixtures::KeySpec;
using fixtures::OpenSslVerifies;
using fixtures::TokenEnv;
using ::testing::HasSubstr;

constexpr HashAlgorithm kHashes[] = {HashAlgorithm::kSha256, HashAlgorithm::kSha384,
                                     HashAlgorithm::kSha512};

std::unique_ptr<TokenEnv> MakeEnv(std::vector<KeySpec> keys) {
  absl::StatusOr<std::unique_ptr<TokenEnv>> env =
      TokenEnv::Create({.label = "keys", .keys = std::move(keys)});
  EXPECT_TRUE(env.ok()) << env.status();
  return env.ok() ? std::move(*env) : nullptr;
}

std::shared_ptr<TokenKey> LoadById(TokenEnv& env, const std::string& id_hex,
                                   KeyPolicy policy = {}) {
  absl::StatusOr<std::shared_ptr<TokenKey>> key =
      TokenKey::Load(env.token, KeySelector::ById(Hex(id_hex)), policy, Deadline());
  EXPECT_TRUE(key.ok()) << key.status();
  return key.ok() ? *key : nullptr;
}

TEST(TokenKeyTest, RsaSignaturesVerifyWithOpenSsl) {
  auto env = MakeEnv({{.label = "rsa", .id_hex = "01", .key_type = "rsa:2048"}});
  ASSERT_NE(env, nullptr);
  std::shared_ptr<TokenKey> key = LoadById(*env, "01");
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(key->type(), KeyType::kRsa);
  EXPECT_EQ(key->bits(), 2048);
  EXPECT_EQ(key->label(), "rsa");
  EvpPkeyPtr independent = env->IndependentPublicKey("01");
  ASSERT_NE(independent, nullptr);
  EXPECT_TRUE(SamePublicKey(independent.get(), key->public_key()));

  for (SignatureScheme scheme : {SignatureScheme::kRsaPkcs1, SignatureScheme::kRsaPss}) {
    for (HashAlgorithm hash : kHashes) {
      std::string digest = Digest(hash, "statement for account 42");
      absl::StatusOr<std::string> sig =
          key->Sign({.scheme = scheme, .hash = hash}, digest, Deadline());
      ASSERT_TRUE(sig.ok()) << sig.status();
      EXPECT_TRUE(OpenSslVerifies(independent.get(), scheme, hash, digest, *sig))
          << SchemeName(scheme) << " " << HashName(hash);
      std::string other = Digest(hash, "statement for account 43");
      EXPECT_FALSE(OpenSslVerifies(independent.get(), scheme, hash, other, *sig));
    }
  }
}

TEST(TokenKeyTest, EcdsaSignaturesAreDerAndVerifyWithOpenSsl) {
  auto env = MakeEnv({{.label = "p256", .id_hex = "02", .key_type = "EC:prime256v1"},
                      {.label = "p384", .id_hex = "03", .key_type = "EC:secp384r1"}});
  ASSERT_NE(env, nullptr);
  for (const char* id : {"02", "03"}) {
    std::shared_ptr<TokenKey> key = LoadById(*env, id);
    ASSERT_NE(key, nullptr);
    EXPECT_EQ(key->type(), KeyType::kEc);
    EvpPkeyPtr independent = env->IndependentPublicKey(id);
    ASSERT_NE(independent, nullptr);
    for (HashAlgorithm hash : kHashes) {
      std::string digest = Digest(hash, "wire transfer");
      absl::StatusOr<std::string> sig =
          key->Sign({.scheme = SignatureScheme::kEcdsa, .hash = hash}, digest, Deadline());
      ASSERT_TRUE(sig.ok()) << sig.status();
      EXPECT_EQ((*sig)[0], '\x30') << "not a DER SEQUENCE";
      EXPECT_TRUE(OpenSslVerifies(independent.get(), SignatureScheme::kEcdsa, hash, digest, *sig));
    }
  }
}

TEST(TokenKeyTest, DecryptsWhatOpenSslEncrypted) {
  auto env = MakeEnv({{.label = "dec",
                       .id_hex = "04",
                       .key_type = "rsa:2048",
                       .usage = KeySpec::Usage::kDecrypt}});
  ASSERT_NE(env, nullptr);
  std::shared_ptr<TokenKey> key = LoadById(*env, "04");
  ASSERT_NE(key, nullptr);
  EvpPkeyPtr independent = env->IndependentPublicKey("04");
  ASSERT_NE(independent, nullptr);
  const std::string content_key = "0123456789abcdef0123456789abcdef";
  for (DecryptionScheme scheme : {DecryptionScheme::kRsaPkcs1, DecryptionScheme::kRsaOaepSha256,
                                  DecryptionScheme::kRsaOaepSha1}) {
    const std::string ciphertext = fixtures::OpenSslEncrypt(independent.get(), scheme, content_key);
    ASSERT_FALSE(ciphertext.empty());
    absl::StatusOr<SecretBytes> plaintext = key->Decrypt(scheme, ciphertext, Deadline());
    ASSERT_TRUE(plaintext.ok()) << plaintext.status();
    EXPECT_EQ(std::string(plaintext->begin(), plaintext->end()), content_key);
  }
  EXPECT_EQ(key->Decrypt(DecryptionScheme::kRsaPkcs1, "short", Deadline()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TokenKeyTest, EcdhMatchesOpenSsl) {
  auto env = MakeEnv({{.label = "kag",
                       .id_hex = "05",
                       .key_type = "EC:prime256v1",
                       .usage = KeySpec::Usage::kDerive}});
  ASSERT_NE(env, nullptr);
  std::shared_ptr<TokenKey> key = LoadById(*env, "05");
  ASSERT_NE(key, nullptr);
  EXPECT_TRUE(key->attributes().derive);

  EvpPkeyPtr ephemeral(EVP_EC_gen("P-256"));
  ASSERT_NE(ephemeral, nullptr);
  absl::StatusOr<std::string> point = EcPublicPoint(ephemeral.get());
  ASSERT_TRUE(point.ok());
  absl::StatusOr<SecretBytes> on_token = key->DeriveEcdh(*point, Deadline());
  ASSERT_TRUE(on_token.ok()) << on_token.status();

  EvpPkeyPtr independent = env->IndependentPublicKey("05");
  ASSERT_NE(independent, nullptr);
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(ephemeral.get(), nullptr));
  ASSERT_EQ(EVP_PKEY_derive_init(ctx.get()), 1);
  ASSERT_EQ(EVP_PKEY_derive_set_peer(ctx.get(), independent.get()), 1);
  std::string expected(32, '\0');
  size_t length = expected.size();
  ASSERT_EQ(EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(expected.data()), &length),
            1);
  EXPECT_EQ(std::string(on_token->begin(), on_token->end()), expected.substr(0, length));

  // The derived secret was a session object, destroyed at once.
  const auto counts = env->module->counters().Snapshot();
  EXPECT_EQ(counts.at("C_DeriveKey"), counts.at("C_DestroyObject"));

  EXPECT_EQ(key->DeriveEcdh("\x04short", Deadline()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TokenKeyTest, SteadyStateSignatureCostsExactlySignInitAndSign) {
  auto env = MakeEnv({{.label = "hot", .id_hex = "06", .key_type = "EC:prime256v1"}});
  ASSERT_NE(env, nullptr);
  std::shared_ptr<TokenKey> key = LoadById(*env, "06");
  ASSERT_NE(key, nullptr);
  const std::string digest = Digest(HashAlgorithm::kSha256, "m");
  const SignOptions ecdsa{.scheme = SignatureScheme::kEcdsa};
  ASSERT_TRUE(key->Sign(ecdsa, digest, Deadline()).ok());  // warm-up

  const auto before = env->module->counters().Snapshot();
  constexpr int kSignatures = 50;
  for (int i = 0; i < kSignatures; ++i) ASSERT_TRUE(key->Sign(ecdsa, digest, Deadline()).ok());
  auto after = env->module->counters().Snapshot();
  std::map<std::string, uint64_t> delta;
  for (const auto& [function, count] : after) {
    uint64_t was = before.count(function) ? before.at(function) : 0;
    if (count != was) delta[function] = count - was;
  }
  EXPECT_EQ(delta, (std::map<std::string, uint64_t>{{"C_SignInit", kSignatures},
                                                    {"C_Sign", kSignatures}}));
}

TEST(TokenKeyTest, ExtractableKeyIsRefused) {
  auto env = MakeEnv(
      {{.label = "leaky", .id_hex = "07", .key_type = "EC:prime256v1", .extractable = true}});
  ASSERT_NE(env, nullptr);
  absl::StatusOr<std::shared_ptr<TokenKey>> key =
      TokenKey::Load(env->token, KeySelector::ByLabel("leaky"), KeyPolicy{}, Deadline());
  EXPECT_EQ(key.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(key.status().message(), HasSubstr("CKA_EXTRACTABLE is true"));
  // Even a configuration that accepts imported keys refuses an extractable one.
  key = TokenKey::Load(env->token, KeySelector::ByLabel("leaky"),
                       KeyPolicy{.allow_imported_keys = true}, Deadline());
  EXPECT_EQ(key.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(TokenKeyTest, ImportedKeyNeedsThePolicyToAllowIt) {
  auto env = MakeEnv({});
  ASSERT_NE(env, nullptr);
  EvpPkeyPtr software(EVP_EC_gen("P-256"));
  ASSERT_NE(software, nullptr);
  const std::string path = env->hsm->dir() + "/imported.pem";
  {
    OsslPtr<BIO, BIO_free_all> out(BIO_new_file(path.c_str(), "w"));
    ASSERT_EQ(
        PEM_write_bio_PrivateKey(out.get(), software.get(), nullptr, nullptr, 0, nullptr, nullptr),
        1);
  }
  ASSERT_TRUE(env->hsm->ImportKeyPair(env->info, path, "08", "imported").ok());
  absl::StatusOr<std::shared_ptr<TokenKey>> refused =
      TokenKey::Load(env->token, KeySelector::ById(Hex("08")), KeyPolicy{}, Deadline());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("CKA_NEVER_EXTRACTABLE is false"));

  std::shared_ptr<TokenKey> allowed = LoadById(*env, "08", KeyPolicy{.allow_imported_keys = true});
  ASSERT_NE(allowed, nullptr);
  EXPECT_TRUE(allowed->imported());
  EXPECT_TRUE(SamePublicKey(allowed->public_key(), software.get()));
}

TEST(TokenKeyTest, ClearErrorsForBadRequests) {
  auto env = MakeEnv({{.label = "ec", .id_hex = "09", .key_type = "EC:prime256v1"}});
  ASSERT_NE(env, nullptr);
  std::shared_ptr<TokenKey> key = LoadById(*env, "09");
  ASSERT_NE(key, nullptr);
  absl::Status wrong_scheme = key->Sign({.scheme = SignatureScheme::kRsaPss},
                                        Digest(HashAlgorithm::kSha256, "x"), Deadline())
                                  .status();
  EXPECT_EQ(wrong_scheme.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(wrong_scheme.message(), HasSubstr("needs an RSA key"));
  absl::Status short_digest =
      key->Sign({.scheme = SignatureScheme::kEcdsa}, "abc", Deadline()).status();
  EXPECT_EQ(short_digest.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(key->Decrypt(DecryptionScheme::kRsaPkcs1, "x", Deadline()).status().code(),
            absl::StatusCode::kInvalidArgument);

  absl::StatusOr<std::shared_ptr<TokenKey>> missing =
      TokenKey::Load(env->token, KeySelector::ByLabel("nope"), KeyPolicy{}, Deadline());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("object=nope"));
}

TEST(TokenKeyTest, AmbiguousLabelIsAnError) {
  auto env = MakeEnv({{.label = "twin", .id_hex = "0a", .key_type = "EC:prime256v1"},
                      {.label = "twin", .id_hex = "0b", .key_type = "EC:prime256v1"}});
  ASSERT_NE(env, nullptr);
  absl::StatusOr<std::shared_ptr<TokenKey>> key =
      TokenKey::Load(env->token, KeySelector::ByLabel("twin"), KeyPolicy{}, Deadline());
  EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(key.status().message(), HasSubstr("several private keys"));
}

}  // namespace
}  // namespace signet
