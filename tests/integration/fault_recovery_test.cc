// The token layer against the fault-injecting module in front of SoftHSM2:
// every fault the issue names is recovered from, results are neither lost nor
// duplicated, and a wrong PIN is presented exactly once.
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/subprocess.h"
#include "tests/fixtures/token_env.h"
#include "tokens/keys/keygen.h"
#include "tokens/keys/token_key.h"
#include "tokens/objects.h"
// Last: it pulls in the PKCS#11 header's macros.
#include "tests/fixtures/fault_pkcs11/fault_control_client.h"
#include "tests/fixtures/status_matchers.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;

using fixtures::Deadline;
using fixtures::Digest;
using fixtures::Hex;
using fixtures::KeySpec;
using fixtures::OpenSslVerifies;
using fixtures::TokenEnv;
using fixtures::TokenEnvOptions;
using testing::FaultControl;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::Duration kRecoveryInterval = absl::Milliseconds(20);
const SignOptions kEcdsa{.scheme = SignatureScheme::kEcdsa};

// Collects every log line for the life of the test.
class LogCapture {
 public:
  LogCapture() {
    previous_ = SetLogSink([this](LogLevel, absl::string_view line) {
      std::lock_guard<std::mutex> lock(mutex_);
      text_ += std::string(line) + "\n";
    });
  }
  ~LogCapture() { SetLogSink(previous_); }
  std::string text() {
    std::lock_guard<std::mutex> lock(mutex_);
    return text_;
  }

 private:
  LogSink previous_;
  std::mutex mutex_;
  std::string text_;
};

class FaultRecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<FaultControl> control = FaultControl::Attach(SIGNET_FAULT_PKCS11_PATH);
    ASSERT_THAT(control, IsOk());
    faults_ = std::make_unique<FaultControl>(*control);
    faults_->Reset();
  }
  void TearDown() override {
    if (faults_) faults_->Reset();
  }

  void MakeEnv(TokenEnvOptions options = {}) {
    options.module_path = SIGNET_FAULT_PKCS11_PATH;
    options.recovery_interval = kRecoveryInterval;
    if (options.keys.empty()) {
      options.keys = {{.label = "sig", .id_hex = "01", .key_type = "EC:prime256v1"},
                      {.label = "dec",
                       .id_hex = "02",
                       .key_type = "rsa:2048",
                       .usage = KeySpec::Usage::kDecrypt}};
    }
    absl::StatusOr<std::unique_ptr<TokenEnv>> env = TokenEnv::Create(options);
    ASSERT_THAT(env, IsOk());
    env_ = std::move(*env);
  }

  std::shared_ptr<TokenKey> Key(const std::string& id_hex) {
    absl::StatusOr<std::shared_ptr<TokenKey>> key =
        TokenKey::Load(env_->token, KeySelector::ById(Hex(id_hex)), KeyPolicy{}, Deadline());
    EXPECT_THAT(key, IsOk());
    return key.ok() ? *key : nullptr;
  }

  uint64_t Count(const char* function) { return env_->module->counters().Get(Fn(function)); }
  static P11Fn Fn(absl::string_view name) {
    for (size_t i = 0; i < static_cast<size_t>(P11Fn::kCount); ++i) {
      if (P11FnName(static_cast<P11Fn>(i)) == name) return static_cast<P11Fn>(i);
    }
    return P11Fn::kCount;
  }

  std::unique_ptr<FaultControl> faults_;
  std::unique_ptr<TokenEnv> env_;
};

TEST_F(FaultRecoveryTest, SigningRecoversFromEveryTokenFaultWithOneRetry) {
  ASSERT_NO_FATAL_FAILURE(MakeEnv());
  std::shared_ptr<TokenKey> key = Key("01");
  ASSERT_NE(key, nullptr);
  EvpPkeyPtr independent = env_->IndependentPublicKey("01");
  ASSERT_NE(independent, nullptr);
  for (CK_RV rv : {CKR_SESSION_HANDLE_INVALID, CKR_SESSION_CLOSED, CKR_DEVICE_ERROR,
                   CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT, CKR_USER_NOT_LOGGED_IN}) {
    SCOPED_TRACE(CkrName(rv));
    absl::SleepFor(2 * kRecoveryInterval);  // the previous recovery's rate limit
    const uint64_t opens = Count("C_OpenSession");
    const uint64_t finds = Count("C_FindObjectsInit");
    const uint64_t signs_reaching_token = faults_->CallCount("C_Sign");
    faults_->Fail("C_Sign", rv, 1);
    const std::string digest = Digest(HashAlgorithm::kSha256, CkrName(rv));
    absl::StatusOr<std::string> sig = key->Sign(kEcdsa, digest, Deadline());
    ASSERT_THAT(sig, IsOk());
    EXPECT_TRUE(OpenSslVerifies(independent.get(), SignatureScheme::kEcdsa, HashAlgorithm::kSha256,
                                digest, *sig));
    EXPECT_EQ(faults_->CallCount("C_Sign") - signs_reaching_token, 2u)
        << "one failed attempt and exactly one retry";
    EXPECT_GT(Count("C_OpenSession"), opens) << "the broken session was reused";
    EXPECT_GT(Count("C_FindObjectsInit"), finds) << "the key was not found again";
    EXPECT_EQ(env_->token->state(), TokenState::kReady);
  }
}

TEST_F(FaultRecoveryTest, DecryptionIsNotRetriedAutomatically) {
  ASSERT_NO_FATAL_FAILURE(MakeEnv());
  std::shared_ptr<TokenKey> key = Key("02");
  ASSERT_NE(key, nullptr);
  EvpPkeyPtr independent = env_->IndependentPublicKey("02");
  ASSERT_NE(independent, nullptr);
  const std::string ciphertext =
      fixtures::OpenSslEncrypt(independent.get(), DecryptionScheme::kRsaPkcs1, "k");
  ASSERT_FALSE(ciphertext.empty());

  faults_->Fail("C_Decrypt", CKR_DEVICE_ERROR, 1);
  const uint64_t before = faults_->CallCount("C_Decrypt");
  absl::StatusOr<SecretBytes> failed =
      key->Decrypt(DecryptionScheme::kRsaPkcs1, ciphertext, Deadline());
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(IsRetryable(failed.status()));
  EXPECT_THAT(failed.status().message(), HasSubstr("CKR_DEVICE_ERROR"));
  EXPECT_EQ(faults_->CallCount("C_Decrypt") - before, 1u);

  absl::SleepFor(2 * kRecoveryInterval);
  absl::StatusOr<SecretBytes> again =
      key->Decrypt(DecryptionScheme::kRsaPkcs1, ciphertext, Deadline());
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(std::string(again->begin(), again->end()), "k");
}

TEST_F(FaultRecoveryTest, RemovedTokenFailsClearlyAndComesBack) {
  ASSERT_NO_FATAL_FAILURE(MakeEnv());
  std::shared_ptr<TokenKey> key = Key("01");
  ASSERT_NE(key, nullptr);
  const std::string digest = Digest(HashAlgorithm::kSha256, "x");
  ASSERT_THAT(key->Sign(kEcdsa, digest, Deadline()), IsOk());
  const uint64_t logins = faults_->CallCount("C_Login");

  faults_->RemoveToken(FaultControl::kAllSlots);
  absl::StatusOr<std::string> gone = key->Sign(kEcdsa, digest, Deadline());
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(IsRetryable(gone.status()));
  EXPECT_NE(env_->token->state(), TokenState::kReady);
  EXPECT_THAT(env_->token->Status().detail, Not(HasSubstr("1234")));

  faults_->InsertToken(FaultControl::kAllSlots);
  absl::SleepFor(2 * kRecoveryInterval);
  absl::StatusOr<std::string> back = key->Sign(kEcdsa, digest, Deadline());
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(env_->token->state(), TokenState::kReady);
  EXPECT_EQ(faults_->CallCount("C_Login"), logins + 1) << "one login after re-insertion";
}

TEST_F(FaultRecoveryTest, AKeyReplacedWhileTheTokenWasOutIsRefused) {
  ASSERT_NO_FATAL_FAILURE(MakeEnv());
  std::shared_ptr<TokenKey> key = Key("01");
  ASSERT_NE(key, nullptr);
  faults_->RemoveToken(FaultControl::kAllSlots);
  // While the token is out, its key is replaced by another one under the same
  // label and id: straight on SoftHSM, past the fault module. (Another
  // process could not do it: SoftHSM keeps its objects cached in memory.)
  {
    absl::StatusOr<std::shared_ptr<Module>> direct = Module::Load(fixtures::SoftHsm::ModulePath());
    ASSERT_THAT(direct, IsOk());
    TokenOptions options;
    options.name = "direct";
    options.selector = TokenSelector::ByLabel(env_->info.label);
    options.pin_source =
        std::make_shared<LiteralPinSourceForTests>(SecretString(env_->info.user_pin));
    absl::StatusOr<std::shared_ptr<Token>> token = Token::Open(*direct, options);
    ASSERT_THAT(token, IsOk());
    {
      absl::StatusOr<SessionLease> lease = (*token)->Acquire(Deadline());
      ASSERT_THAT(lease, IsOk());
      AttributeTemplate search;
      search.AddBytes(CKA_ID, Hex("01"));
      absl::StatusOr<std::vector<CK_OBJECT_HANDLE>> objects =
          FindObjects(**direct, lease->handle(), search, 8);
      ASSERT_THAT(objects, IsOk());
      ASSERT_EQ(objects->size(), 2u);
      for (CK_OBJECT_HANDLE object : *objects) {
        ASSERT_EQ(SIGNET_P11(**direct, DestroyObject, lease->handle(), object), CKR_OK);
      }
    }
    ASSERT_THAT(GenerateKeyPair(*token, {.label = "sig", .id = Hex("01")}, Deadline()), IsOk());
  }
  faults_->InsertToken(FaultControl::kAllSlots);
  absl::SleepFor(2 * kRecoveryInterval);
  const uint64_t signs = faults_->CallCount("C_Sign");
  absl::Status status = key->Sign(kEcdsa, Digest(HashAlgorithm::kSha256, "x"), Deadline()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_THAT(status.message(), HasSubstr("no longer matches its public key"));
  EXPECT_EQ(faults_->CallCount("C_Sign"), signs) << "the new key must never be used";
}

TEST_F(FaultRecoveryTest, WrongPinIsPresentedExactlyOnce) {
  LogCapture logs;
  ASSERT_NO_FATAL_FAILURE(MakeEnv({.token_pin = "58203147", .pin = "96137042"}));
  EXPECT_EQ(env_->token->state(), TokenState::kLockedOut);
  EXPECT_EQ(faults_->CallCount("C_Login"), 1u);
  std::shared_ptr<Token> token = env_->token;
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<SessionLease> lease = token->Acquire(Deadline());
    EXPECT_EQ(lease.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(lease.status().message(), HasSubstr("CKR_PIN_INCORRECT"));
    EXPECT_THAT(lease.status().message(), Not(HasSubstr("96137042")));
    absl::SleepFor(2 * kRecoveryInterval);
  }
  EXPECT_EQ(token->Status().state, TokenState::kLockedOut);
  EXPECT_EQ(faults_->CallCount("C_Login"), 1u) << "the rejected PIN was tried again";
  EXPECT_THAT(logs.text(), HasSubstr("rejected the PIN"));  // the lockout is logged...
  EXPECT_THAT(logs.text(), Not(HasSubstr("96137042")));     // ...but never a PIN
  EXPECT_THAT(logs.text(), Not(HasSubstr("58203147")));
}

TEST_F(FaultRecoveryTest, PinWarningFlagsLockOutBeforeAnyAttempt) {
  for (CK_FLAGS flag : {CKF_USER_PIN_FINAL_TRY, CKF_USER_PIN_COUNT_LOW, CKF_USER_PIN_LOCKED}) {
    SCOPED_TRACE(flag);
    faults_->Reset();
    faults_->SetTokenFlags(FaultControl::kAllSlots, flag, 0);
    env_.reset();
    ASSERT_NO_FATAL_FAILURE(MakeEnv());
    EXPECT_EQ(env_->token->state(), TokenState::kLockedOut);
    EXPECT_EQ(faults_->CallCount("C_Login"), 0u);
  }
  // The operator decides: after clearing the lockout one login is allowed
  // despite the warning (the token keeps COUNT_LOW until a login succeeds).
  faults_->SetTokenFlags(FaultControl::kAllSlots, CKF_USER_PIN_COUNT_LOW, 0);
  env_.reset();
  ASSERT_NO_FATAL_FAILURE(MakeEnv());
  ASSERT_EQ(env_->token->state(), TokenState::kLockedOut);
  env_->token->ClearLockout();
  EXPECT_THAT(env_->token->Acquire(Deadline()), IsOk());
  EXPECT_EQ(faults_->CallCount("C_Login"), 1u);
  EXPECT_EQ(env_->token->state(), TokenState::kReady);
}

TEST_F(FaultRecoveryTest, CallersBeyondMaxInFlightGiveUpAtTheirDeadline) {
  ASSERT_NO_FATAL_FAILURE(MakeEnv({.max_in_flight = 1}));
  std::shared_ptr<TokenKey> key = Key("01");
  ASSERT_NE(key, nullptr);
  faults_->Latency("C_Sign", 300'000);
  const std::string digest = Digest(HashAlgorithm::kSha256, "slow");
  std::thread slow([&] { EXPECT_THAT(key->Sign(kEcdsa, digest, Deadline()), IsOk()); });
  while (env_->token->Status().in_flight == 0) absl::SleepFor(absl::Milliseconds(1));
  absl::Status late = key->Sign(kEcdsa, digest, absl::Now() + absl::Milliseconds(50)).status();
  EXPECT_EQ(late.code(), absl::StatusCode::kDeadlineExceeded) << late;
  slow.join();
}

TEST_F(FaultRecoveryTest, ConcurrentSignersLoseAndDuplicateNothingAcrossFaults) {
  ASSERT_NO_FATAL_FAILURE(MakeEnv());
  std::shared_ptr<TokenKey> key = Key("01");
  ASSERT_NE(key, nullptr);
  EvpPkeyPtr independent = env_->IndependentPublicKey("01");
  ASSERT_NE(independent, nullptr);
  constexpr int kThreads = 4, kPerThread = 60;
  std::atomic<int> ok{0}, retryable{0}, other{0}, bad_signature{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (t == 0 && i == kPerThread / 3) faults_->Fail("C_Sign", CKR_DEVICE_ERROR, 3);
        if (t == 0 && i == 2 * kPerThread / 3) faults_->Fail("C_SignInit", CKR_SESSION_CLOSED, 2);
        const std::string digest = Digest(HashAlgorithm::kSha256, absl::StrCat(t, "/", i));
        absl::StatusOr<std::string> sig = key->Sign(kEcdsa, digest, Deadline());
        if (sig.ok()) {
          ++ok;
          if (!OpenSslVerifies(independent.get(), SignatureScheme::kEcdsa, HashAlgorithm::kSha256,
                               digest, *sig)) {
            ++bad_signature;
          }
        } else if (IsRetryable(sig.status())) {
          ++retryable;
        } else {
          ++other;
          ADD_FAILURE() << sig.status();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok + retryable + other, kThreads * kPerThread);
  EXPECT_EQ(other, 0);
  EXPECT_EQ(bad_signature, 0);
  EXPECT_GT(ok, kThreads * kPerThread / 2);
  // Signing works again afterwards.
  absl::SleepFor(2 * kRecoveryInterval);
  absl::Status after =
      key->Sign(kEcdsa, Digest(HashAlgorithm::kSha256, "after"), Deadline()).status();
  EXPECT_THAT(after, IsOk());
}

TEST_F(FaultRecoveryTest, ABrokenModuleIsReinitialised) {
  ASSERT_NO_FATAL_FAILURE(MakeEnv());
  std::shared_ptr<TokenKey> key = Key("01");
  ASSERT_NE(key, nullptr);
  ASSERT_EQ(env_->module->init_generation(), 1u);
  absl::SleepFor(2 * kRecoveryInterval);
  // The token fault sends the token to recovery, where the module itself
  // fails: as p11-kit's client does once its server is gone.
  faults_->Fail("C_Sign", CKR_DEVICE_ERROR, 1);
  faults_->Fail("C_GetSlotList", CKR_DEVICE_ERROR, 1);
  absl::StatusOr<std::string> sig =
      key->Sign(kEcdsa, Digest(HashAlgorithm::kSha256, "reinit"), Deadline());
  ASSERT_THAT(sig, IsOk());
  EXPECT_EQ(env_->module->init_generation(), 2u);
  EXPECT_EQ(faults_->CallCount("C_Initialize"), 2u);
  EXPECT_EQ(env_->token->state(), TokenState::kReady);
}

}  // namespace
}  // namespace signet
