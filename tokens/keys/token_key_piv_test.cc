// TokenKey on a smartcard: OpenSC's opensc-pkcs11.so in this process, a
// private pcscd with the vpcd reader driver, and the virtual PIV card in its
// reader. The card's digital signature key (9C; OpenSC's CKA_ID 02) works
// only right after a VERIFY of the PIN ("PIN always"), which OpenSC shows as
// CKA_ALWAYS_AUTHENTICATE: every operation with it needs a context-specific
// login, and a PIN the card rejects costs exactly one try.
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/piv_card_env.h"
#include "tests/fixtures/settable_pin_source.h"
#include "tests/fixtures/status_matchers.h"
#include "tokens/ck_status.h"
#include "tokens/keys/token_key.h"
#include "tokens/module.h"
#include "tokens/pin_source.h"
#include "tokens/token.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSerial[] = "00000000000009c1";
constexpr char kPin[] = "482916";
constexpr char kWrongPin[] = "999999";

absl::Time Deadline() { return absl::Now() + absl::Seconds(30); }

using fixtures::SettablePinSource;

std::string Sha256(const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), out, &length, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(out), length);
}

// Verified by OpenSSL alone, with the public key of the card's certificate.
bool OpenSslVerifies(X509* certificate, const SignOptions& options, const std::string& digest,
                     const std::string& signature) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(X509_get0_pubkey(certificate), nullptr));
  if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) != 1) {
    return false;
  }
  if (options.scheme == SignatureScheme::kRsaPss &&
      (EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING) != 1 ||
       EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), RSA_PSS_SALTLEN_DIGEST) != 1)) {
    return false;
  }
  return EVP_PKEY_verify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                         signature.size(), reinterpret_cast<const unsigned char*>(digest.data()),
                         digest.size()) == 1;
}

// Encrypted by OpenSSL alone to the card's certificate, as a sender would.
std::string OpenSslEncrypt(X509* certificate, DecryptionScheme scheme,
                           const std::string& plaintext) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(X509_get0_pubkey(certificate), nullptr));
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) != 1) return {};
  if (scheme == DecryptionScheme::kRsaOaepSha256) {
    if (EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), EVP_sha256()) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha256()) != 1) {
      return {};
    }
  } else if (EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1) {
    return {};
  }
  std::string ciphertext(256, '\0');
  size_t length = ciphertext.size();
  if (EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(ciphertext.data()), &length,
                       reinterpret_cast<const unsigned char*>(plaintext.data()),
                       plaintext.size()) != 1) {
    return {};
  }
  ciphertext.resize(length);
  return ciphertext;
}

class TokenKeyPivTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(env_, fixtures::PivCardEnv::Start("token-key-piv"));
  }

  void TearDown() override {
    // The token's sessions close before the card and pcscd go.
    token_.reset();
    card_.reset();
  }

  // Puts a card with `keys` (9A is an ordinary PIN-once key) into the reader
  // and opens it as a Signet token.
  void InsertCardAndOpenToken(std::vector<fixtures::VirtualPivKey> keys) {
    fixtures::VirtualPivOptions options;
    options.serial = kSerial;
    options.pin = kPin;
    options.keys = std::move(keys);
    ASSERT_OK_AND_ASSIGN(card_, env_->MakeCard(options));
    ASSERT_THAT(env_->Insert(*card_), IsOk());

    ASSERT_OK_AND_ASSIGN(module_, Module::Load(fixtures::PivCardEnv::kOpenScModule));
    pin_ = std::make_shared<SettablePinSource>(kPin);
    TokenOptions token_options;
    token_options.name = "piv";
    token_options.selector = TokenSelector::BySerial(kSerial);
    token_options.pin_source = pin_;
    token_options.max_in_flight = 1;  // one card, one operation at a time
    ASSERT_OK_AND_ASSIGN(token_, Token::Open(module_, token_options));
    ASSERT_EQ(token_->state(), TokenState::kReady) << token_->Status().detail;
  }

  std::shared_ptr<TokenKey> Load(const std::string& id) {
    absl::StatusOr<std::shared_ptr<TokenKey>> key =
        TokenKey::Load(token_, KeySelector::ById(id), KeyPolicy{}, Deadline());
    EXPECT_THAT(key, IsOk());
    return key.ok() ? *key : nullptr;
  }

  int PinTriesLeft() const {
    absl::StatusOr<virtual_piv::RetryCounts> counts = card_->ReadRetryCounts();
    EXPECT_THAT(counts, IsOk());
    return counts.ok() ? counts->pin : -1;
  }

  uint64_t Calls(const std::string& function) const {
    const auto counts = module_->counters().Snapshot();
    auto it = counts.find(function);
    return it == counts.end() ? 0 : it->second;
  }

  std::unique_ptr<fixtures::PivCardEnv> env_;
  std::unique_ptr<fixtures::VirtualPivCard> card_;
  std::shared_ptr<Module> module_;
  std::shared_ptr<SettablePinSource> pin_;
  std::shared_ptr<Token> token_;
};

TEST_F(TokenKeyPivTest, TheDigitalSignatureKeySignsThreeTimesInARow) {
  ASSERT_NO_FATAL_FAILURE(
      InsertCardAndOpenToken({{0x9A, "EC:P-256", false}, {0x9C, "EC:P-256", false}}));
  std::shared_ptr<TokenKey> authentication = Load("\x01");
  std::shared_ptr<TokenKey> signature_key = Load("\x02");
  ASSERT_NE(authentication, nullptr);
  ASSERT_NE(signature_key, nullptr);
  EXPECT_FALSE(authentication->attributes().always_authenticate);
  EXPECT_TRUE(signature_key->attributes().always_authenticate);

  const uint64_t logins_before = Calls("C_Login");
  const SignOptions ecdsa{.scheme = SignatureScheme::kEcdsa};
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(absl::StrCat("signature ", i + 1));
    const std::string digest = Sha256(absl::StrCat("statement ", i));
    absl::StatusOr<std::string> signature = signature_key->Sign(ecdsa, digest, Deadline());
    ASSERT_THAT(signature, IsOk());
    EXPECT_TRUE(OpenSslVerifies(card_->certificate(0x9C), ecdsa, digest, *signature));
    EXPECT_FALSE(
        OpenSslVerifies(card_->certificate(0x9C), ecdsa, Sha256("another statement"), *signature));
  }
  // One context-specific login per signature, nothing more; the ordinary key
  // beside it needs none.
  EXPECT_EQ(Calls("C_Login") - logins_before, 3u);
  const std::string digest = Sha256("with the authentication key");
  absl::StatusOr<std::string> signature = authentication->Sign(ecdsa, digest, Deadline());
  ASSERT_THAT(signature, IsOk());
  EXPECT_TRUE(OpenSslVerifies(card_->certificate(0x9A), ecdsa, digest, *signature));
  EXPECT_EQ(Calls("C_Login") - logins_before, 3u);

  // No fault, no recovery, and the card's PIN counter is still full.
  EXPECT_EQ(token_->state(), TokenState::kReady) << token_->Status().detail;
  EXPECT_EQ(PinTriesLeft(), 3);
}

TEST_F(TokenKeyPivTest, AnRsaDigitalSignatureKeySignsPkcs1AndPss) {
  ASSERT_NO_FATAL_FAILURE(InsertCardAndOpenToken({{0x9C, "RSA:2048", false}}));
  std::shared_ptr<TokenKey> key = Load("\x02");
  ASSERT_NE(key, nullptr);
  ASSERT_TRUE(key->attributes().always_authenticate);
  for (SignatureScheme scheme :
       {SignatureScheme::kRsaPkcs1, SignatureScheme::kRsaPss, SignatureScheme::kRsaPkcs1}) {
    SCOPED_TRACE(SchemeName(scheme));
    const SignOptions options{.scheme = scheme};
    const std::string digest = Sha256(std::string(SchemeName(scheme)));
    absl::StatusOr<std::string> signature = key->Sign(options, digest, Deadline());
    ASSERT_THAT(signature, IsOk());
    EXPECT_TRUE(OpenSslVerifies(card_->certificate(0x9C), options, digest, *signature));
  }
  EXPECT_EQ(token_->state(), TokenState::kReady) << token_->Status().detail;
  EXPECT_EQ(PinTriesLeft(), 3);
}

TEST_F(TokenKeyPivTest, APinAlwaysKeyDecryptsAfterAPinCheckEachTime) {
  // 9C with a keyEncipherment certificate: OpenSC makes it a decryption key,
  // still CKA_ALWAYS_AUTHENTICATE (the card wants the PIN before any use).
  ASSERT_NO_FATAL_FAILURE(InsertCardAndOpenToken({{0x9C, "RSA:2048", true}}));
  std::shared_ptr<TokenKey> key = Load("\x02");
  ASSERT_NE(key, nullptr);
  ASSERT_TRUE(key->attributes().always_authenticate);
  ASSERT_TRUE(key->attributes().decrypt);
  const std::string content_key = "0123456789abcdef0123456789abcdef";
  const uint64_t logins_before = Calls("C_Login");
  for (DecryptionScheme scheme : {DecryptionScheme::kRsaPkcs1, DecryptionScheme::kRsaOaepSha256,
                                  DecryptionScheme::kRsaPkcs1}) {
    SCOPED_TRACE(SchemeName(scheme));
    const std::string ciphertext = OpenSslEncrypt(card_->certificate(0x9C), scheme, content_key);
    ASSERT_FALSE(ciphertext.empty());
    absl::StatusOr<SecretBytes> plaintext = key->Decrypt(scheme, ciphertext, Deadline());
    ASSERT_THAT(plaintext, IsOk());
    EXPECT_EQ(std::string(plaintext->begin(), plaintext->end()), content_key);
  }
  EXPECT_EQ(Calls("C_Login") - logins_before, 3u);
  EXPECT_EQ(token_->state(), TokenState::kReady) << token_->Status().detail;
  EXPECT_EQ(PinTriesLeft(), 3);
}

TEST_F(TokenKeyPivTest, ARejectedPinCostsOneTryAndLocksTheTokenOut) {
  ASSERT_NO_FATAL_FAILURE(InsertCardAndOpenToken({{0x9C, "EC:P-256", false}}));
  std::shared_ptr<TokenKey> key = Load("\x02");
  ASSERT_NE(key, nullptr);
  const SignOptions ecdsa{.scheme = SignatureScheme::kEcdsa};
  const std::string digest = Sha256("m");
  ASSERT_THAT(key->Sign(ecdsa, digest, Deadline()), IsOk());

  // The PIN changes under the running token (a wrong PIN file is put in
  // place): the next signature presents it once, the card refuses it, and
  // the token locks itself out.
  pin_->Set(kWrongPin);
  absl::StatusOr<std::string> refused = key->Sign(ecdsa, digest, Deadline());
  ASSERT_THAT(refused, Not(IsOk()));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  EXPECT_EQ(CkRvOf(refused.status()), CKR_PIN_INCORRECT) << refused.status();
  EXPECT_THAT(refused.status().message(), HasSubstr("rejected the PIN from the test's PIN"));
  EXPECT_THAT(refused.status().message(), Not(HasSubstr(kWrongPin)));
  EXPECT_EQ(token_->state(), TokenState::kLockedOut);
  EXPECT_EQ(PinTriesLeft(), 2);

  // Locked out: nothing reaches the card, least of all the PIN.
  const uint64_t logins = Calls("C_Login");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(key->Sign(ecdsa, digest, Deadline()).status().code(),
              absl::StatusCode::kFailedPrecondition);
  }
  EXPECT_EQ(Calls("C_Login"), logins);
  EXPECT_EQ(PinTriesLeft(), 2);

  // The operator puts the right PIN back and clears the lockout: the key
  // signs again, and the card's counter is full again after a good PIN.
  pin_->Set(kPin);
  token_->ClearLockout();
  absl::StatusOr<std::string> signature = key->Sign(ecdsa, digest, Deadline());
  ASSERT_THAT(signature, IsOk());
  EXPECT_TRUE(OpenSslVerifies(card_->certificate(0x9C), ecdsa, digest, *signature));
  EXPECT_EQ(PinTriesLeft(), 3);
}

}  // namespace
}  // namespace signet
