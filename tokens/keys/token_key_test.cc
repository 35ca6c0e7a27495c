#include "tokens/keys/token_key.h"

#include <openssl/ec.h>
#include <openssl/rand.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/settable_pin_source.h"
#include "tests/fixtures/token_env.h"
#include "tokens/ck_status.h"
#include "tokens/keys/public_key.h"
// Last: it brings in p11-kit's pkcs11.h and its macros.
#include "tests/fixtures/fault_pkcs11/fault_control_client.h"
#include "tests/fixtures/status_matchers.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;
using ::signet::matchers::StatusIs;

using fixtures::Deadline;
using fixtures::Digest;
using fixtures::Hex;
using fixtures::KeySpec;
using fixtures::OpenSslVerifies;
using fixtures::TokenEnv;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr HashAlgorithm kHashes[] = {HashAlgorithm::kSha256, HashAlgorithm::kSha384,
                                     HashAlgorithm::kSha512};
constexpr DecryptionScheme kDecryptionSchemes[] = {
    DecryptionScheme::kRsaPkcs1, DecryptionScheme::kRsaOaepSha1, DecryptionScheme::kRsaOaepSha256,
    DecryptionScheme::kRsaOaepSha384, DecryptionScheme::kRsaOaepSha512};

std::unique_ptr<TokenEnv> MakeEnv(std::vector<KeySpec> keys) {
  absl::StatusOr<std::unique_ptr<TokenEnv>> env =
      TokenEnv::Create({.label = "keys", .keys = std::move(keys)});
  EXPECT_THAT(env, IsOk());
  return env.ok() ? std::move(*env) : nullptr;
}

std::shared_ptr<TokenKey> LoadById(TokenEnv& env, const std::string& id_hex,
                                   KeyPolicy policy = {}) {
  absl::StatusOr<std::shared_ptr<TokenKey>> key =
      TokenKey::Load(env.token, KeySelector::ById(Hex(id_hex)), policy, Deadline());
  EXPECT_THAT(key, IsOk());
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
      ASSERT_THAT(sig, IsOk());
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
      ASSERT_THAT(sig, IsOk());
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
  for (DecryptionScheme scheme : kDecryptionSchemes) {
    SCOPED_TRACE(SchemeName(scheme));
    // Twice: SoftHSM does OAEP with SHA-1 only, so the first OAEP-SHA-2
    // decryption learns that and the second goes straight to raw RSA.
    for (int i = 0; i < 2; ++i) {
      const std::string ciphertext =
          fixtures::OpenSslEncrypt(independent.get(), scheme, content_key);
      ASSERT_FALSE(ciphertext.empty());
      absl::StatusOr<SecretBytes> plaintext = key->Decrypt(scheme, ciphertext, Deadline());
      ASSERT_THAT(plaintext, IsOk());
      EXPECT_EQ(std::string(plaintext->begin(), plaintext->end()), content_key);
    }
  }
  // OAEP with one hash is not opened as another.
  const std::string sha512 =
      fixtures::OpenSslEncrypt(independent.get(), DecryptionScheme::kRsaOaepSha512, content_key);
  EXPECT_THAT(key->Decrypt(DecryptionScheme::kRsaOaepSha384, sha512, Deadline()),
              StatusIs(absl::StatusCode::kInvalidArgument));
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
  ASSERT_THAT(point, IsOk());
  absl::StatusOr<SecretBytes> on_token = key->DeriveEcdh(*point, Deadline());
  ASSERT_THAT(on_token, IsOk());

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

// The PKCS#11 calls a module saw since `before`, by function.
std::map<std::string, uint64_t> CallsSince(const Module& module,
                                           const std::map<std::string, uint64_t>& before) {
  std::map<std::string, uint64_t> delta;
  for (const auto& [function, count] : module.counters().Snapshot()) {
    uint64_t was = before.count(function) ? before.at(function) : 0;
    if (count != was) delta[function] = count - was;
  }
  return delta;
}

TEST(TokenKeyTest, SteadyStateSignatureCostsExactlySignInitAndSign) {
  auto env = MakeEnv({{.label = "hot", .id_hex = "06", .key_type = "EC:prime256v1"}});
  ASSERT_NE(env, nullptr);
  std::shared_ptr<TokenKey> key = LoadById(*env, "06");
  ASSERT_NE(key, nullptr);
  const std::string digest = Digest(HashAlgorithm::kSha256, "m");
  const SignOptions ecdsa{.scheme = SignatureScheme::kEcdsa};
  ASSERT_THAT(key->Sign(ecdsa, digest, Deadline()), IsOk());  // warm-up

  const auto before = env->module->counters().Snapshot();
  constexpr int kSignatures = 50;
  for (int i = 0; i < kSignatures; ++i) ASSERT_THAT(key->Sign(ecdsa, digest, Deadline()), IsOk());
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
    BioPtr out(BIO_new_file(path.c_str(), "w"));
    ASSERT_EQ(
        PEM_write_bio_PrivateKey(out.get(), software.get(), nullptr, nullptr, 0, nullptr, nullptr),
        1);
  }
  ASSERT_THAT(env->hsm->ImportKeyPair(env->info, path, "08", "imported"), IsOk());
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

// --- CKA_ALWAYS_AUTHENTICATE: a login before every operation -----------------

using fixtures::SettablePinSource;

TEST(TokenKeyTest, AlwaysAuthenticateKeysLogInRightBeforeEachOperation) {
  // SoftHSM refuses C_Sign and C_Decrypt with such a key
  // (CKR_USER_NOT_LOGGED_IN) unless a context-specific login came after the
  // operation's init.
  auto env = MakeEnv({{.label = "pin-always-sign",
                       .id_hex = "0c",
                       .key_type = "EC:prime256v1",
                       .always_authenticate = true},
                      {.label = "pin-always-decrypt",
                       .id_hex = "0d",
                       .key_type = "rsa:2048",
                       .usage = KeySpec::Usage::kDecrypt,
                       .always_authenticate = true},
                      {.label = "ordinary", .id_hex = "0e", .key_type = "EC:prime256v1"}});
  ASSERT_NE(env, nullptr);
  std::shared_ptr<TokenKey> signer = LoadById(*env, "0c");
  std::shared_ptr<TokenKey> decrypter = LoadById(*env, "0d");
  std::shared_ptr<TokenKey> ordinary = LoadById(*env, "0e");
  ASSERT_NE(signer, nullptr);
  ASSERT_NE(decrypter, nullptr);
  ASSERT_NE(ordinary, nullptr);
  EXPECT_TRUE(signer->attributes().always_authenticate);
  EXPECT_TRUE(decrypter->attributes().always_authenticate);
  EXPECT_FALSE(ordinary->attributes().always_authenticate);

  EvpPkeyPtr independent = env->IndependentPublicKey("0c");
  ASSERT_NE(independent, nullptr);
  const SignOptions ecdsa{.scheme = SignatureScheme::kEcdsa};
  auto before = env->module->counters().Snapshot();
  for (int i = 0; i < 3; ++i) {
    const std::string digest = Digest(HashAlgorithm::kSha256, absl::StrCat("statement ", i));
    absl::StatusOr<std::string> signature = signer->Sign(ecdsa, digest, Deadline());
    ASSERT_THAT(signature, IsOk());
    EXPECT_TRUE(OpenSslVerifies(independent.get(), SignatureScheme::kEcdsa, HashAlgorithm::kSha256,
                                digest, *signature));
  }
  // Each signature: its init, the token's PIN flags, the login, the
  // signature; nothing else (no re-find, no recovery).
  EXPECT_EQ(CallsSince(*env->module, before),
            (std::map<std::string, uint64_t>{
                {"C_SignInit", 3}, {"C_GetTokenInfo", 3}, {"C_Login", 3}, {"C_Sign", 3}}));

  EvpPkeyPtr decryption_public = env->IndependentPublicKey("0d");
  ASSERT_NE(decryption_public, nullptr);
  const std::string content_key = "0123456789abcdef0123456789abcdef";
  for (DecryptionScheme scheme : {DecryptionScheme::kRsaPkcs1, DecryptionScheme::kRsaOaepSha1,
                                  DecryptionScheme::kRsaOaepSha256}) {
    SCOPED_TRACE(SchemeName(scheme));
    before = env->module->counters().Snapshot();
    const std::string ciphertext =
        fixtures::OpenSslEncrypt(decryption_public.get(), scheme, content_key);
    absl::StatusOr<SecretBytes> plaintext = decrypter->Decrypt(scheme, ciphertext, Deadline());
    ASSERT_THAT(plaintext, IsOk());
    EXPECT_EQ(std::string(plaintext->begin(), plaintext->end()), content_key);
    EXPECT_EQ(CallsSince(*env->module, before).at("C_Login"), 1u);
  }

  // A key without the attribute costs what it always did.
  before = env->module->counters().Snapshot();
  ASSERT_THAT(ordinary->Sign(ecdsa, Digest(HashAlgorithm::kSha256, "m"), Deadline()), IsOk());
  EXPECT_EQ(CallsSince(*env->module, before),
            (std::map<std::string, uint64_t>{{"C_SignInit", 1}, {"C_Sign", 1}}));
  EXPECT_EQ(env->token->state(), TokenState::kReady);
}

TEST(TokenKeyTest, AnAlwaysAuthenticateKeyIsRefusedEcdhBeforeAnyTokenCall) {
  // C_DeriveKey has no init after which the PIN could be presented: the
  // refusal is Signet's, made before the token is touched.
  auto env = MakeEnv({{.label = "pin-always-agree",
                       .id_hex = "10",
                       .key_type = "EC:prime256v1",
                       .usage = KeySpec::Usage::kDerive,
                       .always_authenticate = true}});
  ASSERT_NE(env, nullptr);
  std::shared_ptr<TokenKey> key = LoadById(*env, "10");
  ASSERT_NE(key, nullptr);
  ASSERT_TRUE(key->attributes().derive);
  ASSERT_TRUE(key->attributes().always_authenticate);
  EvpPkeyPtr ephemeral(EVP_EC_gen("P-256"));
  ASSERT_NE(ephemeral, nullptr);
  ASSERT_OK_AND_ASSIGN(std::string point, EcPublicPoint(ephemeral.get()));

  const auto before = env->module->counters().Snapshot();
  EXPECT_THAT(key->DeriveEcdh(point, Deadline()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("cannot do ECDH")));
  EXPECT_THAT(CallsSince(*env->module, before), ::testing::IsEmpty());
  EXPECT_EQ(env->token->state(), TokenState::kReady);
}

TEST(TokenKeyTest, APinRejectedBeforeAnOperationLocksTheTokenOut) {
  auto env = MakeEnv({{.label = "pin-always",
                       .id_hex = "0f",
                       .key_type = "EC:prime256v1",
                       .always_authenticate = true}});
  ASSERT_NE(env, nullptr);
  // A token of its own on the same module, with a PIN the test can change.
  auto pin = std::make_shared<SettablePinSource>(env->info.user_pin);
  TokenOptions options;
  options.name = "changing-pin";
  options.selector = TokenSelector::ByLabel("keys");
  options.pin_source = pin;
  options.recovery_interval = absl::Milliseconds(20);
  absl::StatusOr<std::shared_ptr<Token>> token = Token::Open(env->module, options);
  ASSERT_THAT(token, IsOk());
  absl::StatusOr<std::shared_ptr<TokenKey>> key =
      TokenKey::Load(*token, KeySelector::ById(Hex("0f")), KeyPolicy{}, Deadline());
  ASSERT_THAT(key, IsOk());
  const SignOptions ecdsa{.scheme = SignatureScheme::kEcdsa};
  const std::string digest = Digest(HashAlgorithm::kSha256, "m");
  ASSERT_THAT((*key)->Sign(ecdsa, digest, Deadline()), IsOk());

  constexpr char kWrongPin[] = "wrong-pin-5150";
  pin->Set(kWrongPin);
  absl::StatusOr<std::string> refused = (*key)->Sign(ecdsa, digest, Deadline());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  EXPECT_EQ(CkRvOf(refused.status()), CKR_PIN_INCORRECT) << refused.status();
  EXPECT_THAT(refused.status().message(), Not(HasSubstr(kWrongPin)));
  EXPECT_EQ((*token)->state(), TokenState::kLockedOut);

  // The rejected PIN is not presented again, however often it is asked.
  const auto before = env->module->counters().Snapshot();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ((*key)->Sign(ecdsa, digest, Deadline()).status().code(),
              absl::StatusCode::kFailedPrecondition);
  }
  EXPECT_EQ(CallsSince(*env->module, before).count("C_Login"), 0u);

  // The operator fixes the PIN and clears the lockout.
  pin->Set(env->info.user_pin);
  (*token)->ClearLockout();
  EXPECT_THAT((*key)->Sign(ecdsa, digest, Deadline()), IsOk());
}

TEST(TokenKeyTest, APinAlwaysKeyWithoutAPinSourceSaysSo) {
  auto env = MakeEnv({{.label = "pin-always",
                       .id_hex = "10",
                       .key_type = "EC:prime256v1",
                       .always_authenticate = true}});
  ASSERT_NE(env, nullptr);
  // The application is logged in through env->token; this token of the
  // same module has no PIN source (SoftHSM has no PIN pad either).
  TokenOptions options;
  options.name = "no-pin";
  options.selector = TokenSelector::ByLabel("keys");
  absl::StatusOr<std::shared_ptr<Token>> token = Token::Open(env->module, options);
  ASSERT_THAT(token, IsOk());
  absl::StatusOr<std::shared_ptr<TokenKey>> key =
      TokenKey::Load(*token, KeySelector::ById(Hex("10")), KeyPolicy{}, Deadline());
  ASSERT_THAT(key, IsOk());
  absl::Status status = (*key)
                            ->Sign({.scheme = SignatureScheme::kEcdsa},
                                   Digest(HashAlgorithm::kSha256, "m"), Deadline())
                            .status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_THAT(status.message(), HasSubstr("CKA_ALWAYS_AUTHENTICATE"));
  EXPECT_THAT(status.message(), HasSubstr("no PIN source"));
}

// --- verify after sign ---------------------------------------------------------

TEST(TokenKeyTest, ASignatureThatDoesNotVerifyIsNeverReturned) {
  absl::StatusOr<std::unique_ptr<TokenEnv>> env =
      TokenEnv::Create({.label = "faulty",
                        .keys = {{.label = "rsa", .id_hex = "11", .key_type = "rsa:2048"},
                                 {.label = "ec", .id_hex = "12", .key_type = "EC:prime256v1"}},
                        .module_path = SIGNET_FAULT_PKCS11_PATH});
  ASSERT_THAT(env, IsOk());
  absl::StatusOr<testing::FaultControl> faults =
      testing::FaultControl::Attach(SIGNET_FAULT_PKCS11_PATH);
  ASSERT_THAT(faults, IsOk());
  faults->Reset();
  std::vector<std::string> errors;
  std::mutex errors_mutex;
  LogSink previous = SetLogSink([&](LogLevel level, absl::string_view message) {
    std::lock_guard<std::mutex> lock(errors_mutex);
    if (level == LogLevel::kError) errors.emplace_back(message);
  });
  absl::Cleanup restore_log = [&previous] { SetLogSink(previous); };

  struct Case {
    std::string id_hex;
    SignatureScheme scheme;
  };
  for (const Case& c :
       {Case{"11", SignatureScheme::kRsaPkcs1}, Case{"11", SignatureScheme::kRsaPss},
        Case{"12", SignatureScheme::kEcdsa}}) {
    SCOPED_TRACE(SchemeName(c.scheme));
    std::shared_ptr<TokenKey> key = LoadById(**env, c.id_hex);
    ASSERT_NE(key, nullptr);
    EvpPkeyPtr independent = (*env)->IndependentPublicKey(c.id_hex);
    ASSERT_NE(independent, nullptr);
    const SignOptions options{.scheme = c.scheme};
    const std::string digest = Digest(HashAlgorithm::kSha256, "pay 100 to account 42");

    // The token computes one signature wrongly (one bit off).
    faults->CorruptOutput("C_Sign", 1);
    const unsigned long signs = faults->CallCount("C_Sign");
    const unsigned long finds = faults->CallCount("C_FindObjectsInit");
    absl::StatusOr<std::string> bad = key->Sign(options, digest, Deadline());
    ASSERT_THAT(bad, Not(IsOk())) << "a signature that does not verify was returned";
    EXPECT_EQ(bad.status().code(), absl::StatusCode::kInternal) << bad.status();
    EXPECT_THAT(bad.status().message(),
                HasSubstr(absl::StrCat("does not verify with the public key of key id=", c.id_hex,
                                       " on token 'faulty'")));
    EXPECT_THAT(bad.status().message(), HasSubstr("was the card replaced"));
    EXPECT_FALSE(IsRetryable(bad.status()));
    EXPECT_EQ(faults->CallCount("C_Sign") - signs, 1u) << "not retried";
    // Sent through recovery, like any token fault.
    EXPECT_NE((*env)->token->state(), TokenState::kReady);

    // The next signature is made after the token was re-opened and the key
    // found again and checked against its public key.
    absl::StatusOr<std::string> good = key->Sign(options, digest, Deadline());
    ASSERT_THAT(good, IsOk());
    EXPECT_TRUE(
        OpenSslVerifies(independent.get(), c.scheme, HashAlgorithm::kSha256, digest, *good));
    EXPECT_GT(faults->CallCount("C_FindObjectsInit"), finds);
    EXPECT_EQ((*env)->token->state(), TokenState::kReady);
  }
  std::lock_guard<std::mutex> lock(errors_mutex);
  ASSERT_EQ(errors.size(), 3u);
  for (const std::string& error : errors) EXPECT_THAT(error, HasSubstr("does not verify"));
}

// --- OAEP on tokens without it ------------------------------------------------

// What the token refuses is learnt per hash: SoftHSM 2.6 does OAEP with SHA-1
// but none of the SHA-2 hashes, and a token may as well do SHA-256 but not
// SHA-512. Each refused hash costs one refused C_DecryptInit, once; the hashes
// the token does stay on the token.
TEST(TokenKeyTest, OaepHashesTheTokenRefusesAreUnpaddedInSoftwareEachLearntOnce) {
  absl::StatusOr<std::unique_ptr<TokenEnv>> env =
      TokenEnv::Create({.label = "oaep",
                        .keys = {{.label = "dec",
                                  .id_hex = "21",
                                  .key_type = "rsa:2048",
                                  .usage = KeySpec::Usage::kDecrypt}},
                        .module_path = SIGNET_FAULT_PKCS11_PATH});
  ASSERT_THAT(env, IsOk());
  absl::StatusOr<testing::FaultControl> faults =
      testing::FaultControl::Attach(SIGNET_FAULT_PKCS11_PATH);
  ASSERT_THAT(faults, IsOk());
  faults->Reset();
  absl::Cleanup reset = [&faults] { faults->Reset(); };
  std::vector<std::string> learnt;
  std::mutex learnt_mutex;
  LogSink previous = SetLogSink([&](LogLevel level, absl::string_view message) {
    std::lock_guard<std::mutex> lock(learnt_mutex);
    if (level == LogLevel::kInfo && absl::StrContains(message, "lacks")) {
      learnt.emplace_back(message);
    }
  });
  absl::Cleanup restore_log = [&previous] { SetLogSink(previous); };
  std::shared_ptr<TokenKey> key = LoadById(**env, "21");
  ASSERT_NE(key, nullptr);
  EvpPkeyPtr independent = (*env)->IndependentPublicKey("21");
  ASSERT_NE(independent, nullptr);
  const std::string content_key = "0123456789abcdef0123456789abcdef";
  // C_DecryptInit calls one decryption costs.
  auto decrypt = [&](DecryptionScheme scheme) -> unsigned long {
    const unsigned long before = faults->CallCount("C_DecryptInit");
    absl::StatusOr<SecretBytes> plaintext = key->Decrypt(
        scheme, fixtures::OpenSslEncrypt(independent.get(), scheme, content_key), Deadline());
    EXPECT_THAT(plaintext, IsOk()) << SchemeName(scheme);
    if (plaintext.ok()) {
      EXPECT_EQ(std::string(plaintext->begin(), plaintext->end()), content_key);
    }
    return faults->CallCount("C_DecryptInit") - before;
  };

  for (DecryptionScheme scheme :
       {DecryptionScheme::kRsaOaepSha256, DecryptionScheme::kRsaOaepSha384,
        DecryptionScheme::kRsaOaepSha512}) {
    SCOPED_TRACE(SchemeName(scheme));
    EXPECT_EQ(decrypt(scheme), 2u) << "refused, then raw RSA";
    EXPECT_EQ(decrypt(scheme), 1u) << "raw RSA straight away";
  }
  // SHA-1, which SoftHSM does, was not given up with them.
  EXPECT_EQ(decrypt(DecryptionScheme::kRsaOaepSha1), 1u);
  {
    std::lock_guard<std::mutex> lock(learnt_mutex);
    ASSERT_EQ(learnt.size(), 3u);
    EXPECT_THAT(learnt[0], HasSubstr("token 'oaep' lacks RSA-OAEP (SHA-256)"));
    EXPECT_THAT(learnt[1], HasSubstr("lacks RSA-OAEP (SHA-384)"));
    EXPECT_THAT(learnt[2], HasSubstr("lacks RSA-OAEP (SHA-512)"));
  }
  // A token that refuses SHA-1 as well gets the same treatment.
  faults->Fail("C_DecryptInit", CKR_MECHANISM_PARAM_INVALID, 1);
  EXPECT_EQ(decrypt(DecryptionScheme::kRsaOaepSha1), 2u);
  EXPECT_EQ(decrypt(DecryptionScheme::kRsaOaepSha1), 1u);
  // PKCS#1 v1.5 has no fallback: a refusal is the token's answer.
  faults->Fail("C_DecryptInit", CKR_MECHANISM_INVALID, 1);
  EXPECT_THAT(key->Decrypt(DecryptionScheme::kRsaPkcs1,
                           fixtures::OpenSslEncrypt(independent.get(), DecryptionScheme::kRsaPkcs1,
                                                    content_key),
                           Deadline()),
              StatusIs(absl::StatusCode::kUnimplemented));
  std::lock_guard<std::mutex> lock(learnt_mutex);
  ASSERT_EQ(learnt.size(), 4u);
  EXPECT_THAT(learnt[3], HasSubstr("lacks RSA-OAEP (SHA-1) (CKR_MECHANISM_PARAM_INVALID)"));
}

// OpenSC reports a card exchange cut off by the card's leaving as
// CKR_GENERAL_ERROR; on a card token that is a token fault the caller may
// retry, while on an HSM the same code stays an internal error.
void SignFailingWithGeneralError(bool pcsc) {
  absl::StatusOr<std::unique_ptr<TokenEnv>> env =
      TokenEnv::Create({.label = pcsc ? "card" : "hsm",
                        .keys = {{.label = "rsa", .id_hex = "21", .key_type = "rsa:2048"}},
                        .module_path = SIGNET_FAULT_PKCS11_PATH,
                        .pcsc = pcsc});
  ASSERT_THAT(env, IsOk());
  absl::StatusOr<testing::FaultControl> faults =
      testing::FaultControl::Attach(SIGNET_FAULT_PKCS11_PATH);
  ASSERT_THAT(faults, IsOk());
  faults->Reset();
  std::shared_ptr<TokenKey> key = LoadById(**env, "21");
  ASSERT_NE(key, nullptr);
  const std::string digest = Digest(HashAlgorithm::kSha256, "statement 7");
  const SignOptions options{.scheme = SignatureScheme::kRsaPkcs1};

  const unsigned long logins = faults->CallCount("C_Login");
  const unsigned long signs = faults->CallCount("C_Sign");
  faults->Fail("C_Sign", CKR_GENERAL_ERROR, 1);
  absl::StatusOr<std::string> once = key->Sign(options, digest, Deadline());
  if (pcsc) {
    // The card was re-opened (one new login) and the signature made again.
    ASSERT_THAT(once, IsOk());
    EXPECT_TRUE(OpenSslVerifies((*env)->IndependentPublicKey("21").get(), options.scheme,
                                HashAlgorithm::kSha256, digest, *once));
    EXPECT_EQ(faults->CallCount("C_Sign") - signs, 2u);
    EXPECT_EQ(faults->CallCount("C_Login") - logins, 1u);
  } else {
    ASSERT_THAT(once, Not(IsOk()));
    EXPECT_EQ(once.status().code(), absl::StatusCode::kInternal) << once.status();
    EXPECT_THAT(once.status().message(), HasSubstr("C_Sign on token 'hsm': CKR_GENERAL_ERROR"));
    EXPECT_FALSE(IsRetryable(once.status()));
    EXPECT_EQ((*env)->token->state(), TokenState::kReady) << "an HSM's error is not a fault";
    EXPECT_EQ(faults->CallCount("C_Sign") - signs, 1u) << "retried";
    EXPECT_EQ(faults->CallCount("C_Login") - logins, 0u);
    return;
  }

  // Cut off again on the retry: the caller hears that it may retry.
  faults->Fail("C_Sign", CKR_GENERAL_ERROR, 2);
  absl::StatusOr<std::string> twice = key->Sign(options, digest, Deadline());
  ASSERT_THAT(twice, Not(IsOk()));
  EXPECT_EQ(twice.status().code(), absl::StatusCode::kUnavailable) << twice.status();
  EXPECT_THAT(twice.status().message(), HasSubstr("C_Sign on token 'card': CKR_GENERAL_ERROR"));
  EXPECT_TRUE(IsRetryable(twice.status()));
  EXPECT_NE((*env)->token->state(), TokenState::kReady) << "not sent to recovery";

  absl::StatusOr<std::string> next = key->Sign(options, digest, Deadline());
  ASSERT_THAT(next, IsOk());
  EXPECT_TRUE(OpenSslVerifies((*env)->IndependentPublicKey("21").get(), options.scheme,
                              HashAlgorithm::kSha256, digest, *next));
}

TEST(TokenKeyTest, ACardExchangeCutOffIsATokenFaultOnACardToken) {
  SignFailingWithGeneralError(/*pcsc=*/true);
}

TEST(TokenKeyTest, AGeneralErrorOnAnHsmIsNotATokenFault) {
  SignFailingWithGeneralError(/*pcsc=*/false);
}

// OpenSC 0.23 returns from C_Sign holding its lock when a card leaves
// mid-operation; every other thread would then wait forever.
TEST(TokenKeyTest, ALockTheModuleLeftHeldIsTakenBack) {
  absl::StatusOr<std::unique_ptr<TokenEnv>> env =
      TokenEnv::Create({.label = "leaky",
                        .keys = {{.label = "ec", .id_hex = "31", .key_type = "EC:prime256v1"}},
                        .module_path = SIGNET_FAULT_PKCS11_PATH});
  ASSERT_THAT(env, IsOk());
  absl::StatusOr<testing::FaultControl> faults =
      testing::FaultControl::Attach(SIGNET_FAULT_PKCS11_PATH);
  ASSERT_THAT(faults, IsOk());
  faults->Reset();
  absl::Cleanup reset = [&faults] { faults->Reset(); };
  std::shared_ptr<TokenKey> key = LoadById(**env, "31");
  ASSERT_NE(key, nullptr);
  std::vector<std::string> warnings;
  std::mutex warnings_mutex;
  LogSink previous = SetLogSink([&](LogLevel level, absl::string_view message) {
    std::lock_guard<std::mutex> lock(warnings_mutex);
    if (level == LogLevel::kWarning) warnings.emplace_back(message);
  });
  absl::Cleanup restore_log = [&previous] { SetLogSink(previous); };
  const std::string digest = Digest(HashAlgorithm::kSha256, "statement 8");
  const SignOptions options{.scheme = SignatureScheme::kEcdsa};

  faults->LeakLock("C_Sign", 1);
  std::thread first([&] { EXPECT_THAT(key->Sign(options, digest, Deadline()), IsOk()); });
  first.join();

  // Another thread must get through. Were the lock still held it would block
  // for good, so the test gives up (and exits) rather than hang.
  auto done = std::make_shared<std::promise<absl::Status>>();
  std::future<absl::Status> second = done->get_future();
  // The thread lets go of the key before it answers: were it the key's last
  // holder, the module would be finalised on this thread while the process
  // exits, or not at all, and SoftHSM's exit handlers would then lock through
  // our callbacks after this thread's lock records were destroyed.
  std::thread([key, options, digest, done]() mutable {
    absl::Status status = key->Sign(options, digest, Deadline()).status();
    key.reset();
    done->set_value(std::move(status));
  }).detach();
  if (second.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    std::fprintf(stderr, "FAILED: a second thread still waits for the lock C_Sign left held\n");
    std::_Exit(1);
  }
  EXPECT_THAT(second.get(), IsOk());
  std::lock_guard<std::mutex> lock(warnings_mutex);
  EXPECT_THAT(warnings, ::testing::Contains(HasSubstr(absl::StrCat(
                            "returned from C_Sign holding 1 of its locks; released them"))));
}

// Without ECDSA checks (an HSM token's default in signetd), ECDSA
// signatures leave unchecked, and RSA ones are still checked.
TEST(TokenKeyTest, EcdsaChecksCanBeLeftOutButRsaChecksCannot) {
  absl::StatusOr<std::unique_ptr<TokenEnv>> env =
      TokenEnv::Create({.label = "unchecked",
                        .keys = {{.label = "rsa", .id_hex = "41", .key_type = "rsa:2048"},
                                 {.label = "ec", .id_hex = "42", .key_type = "EC:prime256v1"}},
                        .module_path = SIGNET_FAULT_PKCS11_PATH,
                        .verify_ecdsa = false});
  ASSERT_THAT(env, IsOk());
  absl::StatusOr<testing::FaultControl> faults =
      testing::FaultControl::Attach(SIGNET_FAULT_PKCS11_PATH);
  ASSERT_THAT(faults, IsOk());
  faults->Reset();
  const std::string digest = Digest(HashAlgorithm::kSha256, "statement 9");

  std::shared_ptr<TokenKey> ec = LoadById(**env, "42");
  ASSERT_NE(ec, nullptr);
  faults->CorruptOutput("C_Sign", 1);
  absl::StatusOr<std::string> unchecked =
      ec->Sign({.scheme = SignatureScheme::kEcdsa}, digest, Deadline());
  ASSERT_THAT(unchecked, IsOk());
  EXPECT_FALSE(OpenSslVerifies((*env)->IndependentPublicKey("42").get(), SignatureScheme::kEcdsa,
                               HashAlgorithm::kSha256, digest, *unchecked))
      << "the corruption did not reach the signature";
  EXPECT_EQ((*env)->token->state(), TokenState::kReady);

  std::shared_ptr<TokenKey> rsa = LoadById(**env, "41");
  ASSERT_NE(rsa, nullptr);
  faults->CorruptOutput("C_Sign", 1);
  absl::StatusOr<std::string> checked =
      rsa->Sign({.scheme = SignatureScheme::kRsaPkcs1}, digest, Deadline());
  ASSERT_THAT(checked, Not(IsOk())) << "a corrupted RSA signature was released";
  EXPECT_EQ(checked.status().code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace signet
