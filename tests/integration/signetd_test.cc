// signetd as its users meet it: a separate process on a SoftHSM2 token, its
// configuration in text format, talked to only over gRPC on its unix socket.
// Outputs are checked with openssl.
#include <grpcpp/grpcpp.h>
#include <openssl/evp.h>
#include <signal.h>

#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "appliance/audit/audit_key.h"
#include "appliance/audit/verifier.h"
#include "common/der.h"
#include "common/ossl_ptr.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/v1/errors.pb.h"
#include "signet/v1/keys.grpc.pb.h"
#include "signet/v1/mail.grpc.pb.h"
#include "tests/fixtures/cms_verifiers.h"
#include "tests/fixtures/mail_stream_call.h"
#include "tests/fixtures/read_file.h"
#include "tests/fixtures/signetd_channels.h"
#include "tests/fixtures/signetd_env.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/subprocess.h"
#include "tests/fixtures/test_mail.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;
using ::signet::matchers::IsOkAndHolds;

using ::testing::HasSubstr;

const std::string kMail = fixtures::TestMail{}.Text();
const std::string kEntity = fixtures::TestMail{}.Entity();

using CallResult = fixtures::MailCallResult;
using fixtures::StreamMail;

std::string Sha256(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(digest), length);
}

using fixtures::ReadFile;

class SignetdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<fixtures::SignetdEnv>> env = fixtures::SignetdEnv::Start(
        {.signetd_path = SIGNETD_PATH, .extra_config = "limits { max_message_bytes: 1048576 }"});
    ASSERT_THAT(env, IsOk());
    env_ = env->release();
  }

  static void TearDownTestSuite() {
    if (env_ == nullptr) return;
    // SIGTERM: calls in flight finish, the audit log gets its final
    // checkpoint, and the daemon exits 0.
    absl::StatusOr<int> exit_code = env_->Stop();
    EXPECT_THAT(exit_code, IsOkAndHolds(0)) << env_->DaemonLog();
    absl::StatusOr<audit::AuditPublicKey> key =
        audit::AuditPublicKey::Parse(ReadFile(env_->File("audit.pem")));
    EXPECT_THAT(key, IsOk());
    if (key.ok()) {
      absl::StatusOr<audit::AuditReport> report = audit::VerifyAuditLog(env_->AuditLogPath(), *key);
      EXPECT_THAT(report, IsOk());
      if (report.ok()) {
        EXPECT_EQ(report->records, key_operations_);
        EXPECT_GE(report->checkpoints, 1u);
      }
    }
    delete env_;
    env_ = nullptr;
  }

  std::unique_ptr<v1::Keys::Stub> KeysStub() {
    return v1::Keys::NewStub(fixtures::UnixChannel(*env_));
  }
  std::unique_ptr<v1::Mail::Stub> Stub() { return v1::Mail::NewStub(fixtures::UnixChannel(*env_)); }
  CallResult Sign(const std::string& key, const std::string& mail) {
    v1::SignMailRequest::Header header;
    header.set_key(key);
    return StreamMail<v1::SignMailRequest>(&v1::Mail::Stub::SignMail, *Stub(), header, mail);
  }

  static fixtures::SignetdEnv* env_;
  // Key operations this process asked for: each must have its record.
  static uint64_t key_operations_;
};

fixtures::SignetdEnv* SignetdTest::env_ = nullptr;
uint64_t SignetdTest::key_operations_ = 0;

TEST_F(SignetdTest, SignMailOverTheUnixSocketVerifiesWithOpenssl) {
  CallResult result = Sign("bank-signing", kMail);
  ++key_operations_;
  ASSERT_THAT(result.status, IsOk());
  EXPECT_EQ(result.header.size(), result.body.size());
  EXPECT_THAT(result.body, HasSubstr("Subject: Your statement\r\n"));
  std::string content;
  absl::Status verified = fixtures::OpensslSmimeVerify(result.body, env_->File("ca.pem"), &content);
  EXPECT_THAT(verified, IsOk());
  EXPECT_EQ(content, kEntity);
}

TEST_F(SignetdTest, DecryptMailOpensWhatOpensslEncrypted) {
  absl::StatusOr<std::string> encrypted =
      fixtures::OpensslSmimeEncrypt(kEntity, env_->File("decryption.pem"), "aes-256-gcm", true);
  ASSERT_THAT(encrypted, IsOk());
  v1::DecryptMailRequest::Header header;
  header.set_key("bank-decryption");
  CallResult result =
      StreamMail<v1::DecryptMailRequest>(&v1::Mail::Stub::DecryptMail, *Stub(), header, *encrypted);
  ++key_operations_;
  ASSERT_THAT(result.status, IsOk());
  EXPECT_TRUE(result.header.authenticated());
  EXPECT_THAT(result.body, HasSubstr(kEntity));
}

TEST_F(SignetdTest, VerifyMailReportsTheSigner) {
  CallResult signed_mail = Sign("bank-signing", kMail);
  ++key_operations_;
  ASSERT_THAT(signed_mail.status, IsOk());
  v1::VerifyMailRequest::Header header;
  header.set_require_trusted_chain(true);
  CallResult result = StreamMail<v1::VerifyMailRequest>(&v1::Mail::Stub::VerifyMail, *Stub(),
                                                        header, signed_mail.body);
  ASSERT_THAT(result.status, IsOk());
  ASSERT_EQ(result.header.signers_size(), 1);
  EXPECT_EQ(result.header.signers(0).subject(), "CN=Bank signing");
  EXPECT_EQ(result.header.signers(0).chain_status(), v1::TRUSTED);
  EXPECT_EQ(result.body, kEntity);

  // A changed mail: INVALID_ARGUMENT with the reason in the details.
  result = StreamMail<v1::VerifyMailRequest>(
      &v1::Mail::Stub::VerifyMail, *Stub(), header,
      absl::StrReplaceAll(signed_mail.body, {{"1,234.56", "9,234.56"}}));
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::ErrorDetails details;
  ASSERT_TRUE(details.ParseFromString(result.status.error_details()));
  EXPECT_EQ(details.verify_failure(), "CONTENT_CHANGED");
}

TEST_F(SignetdTest, SignDigestVerifiesAgainstTheContent) {
  v1::SignDigestRequest request;
  // Not bank-signing: a key bound to sender addresses signs no digests.
  request.set_key("other-signing");
  request.set_digest_algorithm(v1::SHA256);
  request.set_digest(Sha256(kEntity));
  v1::SignDigestResponse response;
  grpc::ClientContext context;
  grpc::Status status = Stub()->SignDigest(&context, request, &response);
  ++key_operations_;
  ASSERT_THAT(status, IsOk());
  EXPECT_EQ(response.micalg(), "sha-256");
  EXPECT_THAT(fixtures::OpensslCmsVerify(response.signature(), env_->File("ca.pem"), kEntity),
              IsOk());
}

// The token's PKCS#11 call counts (ListTokens pkcs11_calls): in steady state
// a signature costs one C_SignInit and one C_Sign and nothing else that
// touches the token's state. The audit key signs on the same token, so each
// checkpoint written meanwhile adds one of each; 12 calls cross the
// interval of 10 at least once.
TEST_F(SignetdTest, ListTokensCountsThePkcs11CallsOfEachSignature) {
  auto calls = [&] {
    grpc::ClientContext context;
    v1::ListTokensResponse tokens;
    grpc::Status status = KeysStub()->ListTokens(&context, {}, &tokens);
    EXPECT_THAT(status, IsOk());
    std::map<std::string, uint64_t> counts;
    if (tokens.tokens_size() == 1) {
      counts.insert(tokens.tokens(0).pkcs11_calls().begin(), tokens.tokens(0).pkcs11_calls().end());
    }
    return counts;
  };
  auto checkpoints = [&] {
    std::istringstream log(ReadFile(env_->AuditLogPath()));
    uint64_t count = 0;
    for (std::string line; std::getline(log, line);) {
      if (line.find("\"checkpoint\":") != std::string::npos) ++count;
    }
    return count;
  };
  // One signature first, so that sessions and login are in place.
  v1::SignDigestRequest request;
  request.set_key("other-signing");
  request.set_digest_algorithm(v1::SHA256);
  request.set_digest(Sha256(kEntity));
  auto sign = [&] {
    v1::SignDigestResponse response;
    grpc::ClientContext context;
    grpc::Status status = Stub()->SignDigest(&context, request, &response);
    ++key_operations_;
    EXPECT_THAT(status, IsOk());
  };
  sign();
  const std::map<std::string, uint64_t> before = calls();
  const uint64_t checkpoints_before = checkpoints();
  ASSERT_GE(before.count("C_Initialize"), 1u);
  ASSERT_GE(before.count("C_Login"), 1u);
  constexpr uint64_t kSignatures = 12;
  for (uint64_t i = 0; i < kSignatures; ++i) sign();
  // A checkpoint due after the last record may still be being signed.
  absl::SleepFor(absl::Milliseconds(300));
  const std::map<std::string, uint64_t> after = calls();
  const uint64_t checkpoint_signatures = checkpoints() - checkpoints_before;
  EXPECT_GE(checkpoint_signatures, 1u);
  auto delta = [&](const std::string& function) {
    auto count = [&](const std::map<std::string, uint64_t>& counts) {
      auto it = counts.find(function);
      return it == counts.end() ? uint64_t{0} : it->second;
    };
    return count(after) - count(before);
  };
  EXPECT_EQ(delta("C_SignInit"), kSignatures + checkpoint_signatures);
  EXPECT_EQ(delta("C_Sign"), kSignatures + checkpoint_signatures);
  for (const char* function : {"C_Login", "C_OpenSession", "C_FindObjectsInit", "C_FindObjects",
                               "C_Initialize", "C_SignUpdate", "C_SignFinal"}) {
    EXPECT_EQ(delta(function), 0u) << function;
  }
}

TEST_F(SignetdTest, WhatThePolicyDoesNotGrantIsRefused) {
  // A key the caller has no grant for, and one that does not exist, look
  // the same to it.
  for (const char* key : {"other-signing", "no-such-key"}) {
    CallResult result = Sign(key, kMail);
    EXPECT_EQ(result.status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << key;
    EXPECT_TRUE(result.body.empty());
  }
  // The signing key is bound to its sender.
  CallResult result =
      Sign("bank-signing",
           absl::StrReplaceAll(kMail, {{"statements@bank.example", "ceo@evil.example"}}));
  // Refused by the key's binding, on its token's queue: audited.
  ++key_operations_;
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(result.status.error_message(), HasSubstr("ceo@evil.example"));
  // A decryption key does not sign.
  result = Sign("bank-decryption", kMail);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(SignetdTest, MailOverTheLimitIsRefused) {
  const std::string big = absl::StrCat(kMail, std::string(2 << 20, 'x'));
  CallResult result = Sign("bank-signing", big);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(result.status.error_message(), HasSubstr("over the limit of 1048576 bytes"));
}

TEST_F(SignetdTest, AMailCutShortOfItsAnnouncedSizeIsNotWorkedOn) {
  const std::string before = ReadFile(env_->AuditLogPath());
  v1::SignMailRequest::Header header;
  header.set_key("bank-signing");
  header.set_size(kMail.size() + 1000);
  CallResult result =
      StreamMail<v1::SignMailRequest>(&v1::Mail::Stub::SignMail, *Stub(), header, kMail);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(result.status.error_message(),
              HasSubstr(absl::StrCat("the mail ended after ", kMail.size(), " of the ",
                                     kMail.size() + 1000, " bytes")));
  EXPECT_TRUE(result.body.empty());
  // No signature was made, so nothing was audited.
  EXPECT_EQ(ReadFile(env_->AuditLogPath()), before);
}

TEST_F(SignetdTest, EveryKeyOperationIsAuditedWithoutTheMail) {
  ASSERT_THAT(Sign("bank-signing", kMail).status, IsOk());
  ++key_operations_;
  const std::string log = ReadFile(env_->AuditLogPath());
  EXPECT_THAT(log, HasSubstr("SIGN_MAIL"));
  EXPECT_THAT(log, HasSubstr("local-gateway"));
  EXPECT_THAT(log, HasSubstr("bank-signing"));
  EXPECT_THAT(log, ::testing::Not(HasSubstr("1,234.56")));
  EXPECT_THAT(env_->DaemonLog(), ::testing::Not(HasSubstr("1,234.56")));
}

TEST_F(SignetdTest, ListTokensAndKeys) {
  grpc::ClientContext context;
  v1::ListTokensResponse tokens;
  grpc::Status status = KeysStub()->ListTokens(&context, {}, &tokens);
  ASSERT_THAT(status, IsOk());
  ASSERT_EQ(tokens.tokens_size(), 1);
  EXPECT_EQ(tokens.tokens(0).name(), "bank-hsm");
  EXPECT_EQ(tokens.tokens(0).label(), "bank-hsm");
  EXPECT_EQ(tokens.tokens(0).state(), v1::READY);
  EXPECT_EQ(tokens.tokens(0).max_in_flight(), 2u);

  grpc::ClientContext keys_context;
  v1::ListKeysResponse keys;
  status = KeysStub()->ListKeys(&keys_context, {}, &keys);
  ASSERT_THAT(status, IsOk());
  ASSERT_EQ(keys.keys_size(), 4);
  const v1::Key& signing = keys.keys(0);
  EXPECT_EQ(signing.name(), "bank-signing");
  EXPECT_EQ(signing.algorithm(), v1::RSA_2048);
  EXPECT_EQ(signing.purpose(), v1::SIGN);
  EXPECT_EQ(signing.label(), "signing");
  EXPECT_TRUE(signing.sensitive());
  EXPECT_FALSE(signing.extractable());
  ASSERT_EQ(signing.certificate_chain_size(), 1);
  // The key's public key is its certificate's.
  const auto* cursor = reinterpret_cast<const unsigned char*>(signing.certificate_chain(0).data());
  X509Ptr certificate(
      d2i_X509(nullptr, &cursor, static_cast<long>(signing.certificate_chain(0).size())));
  ASSERT_TRUE(certificate);
  const std::string certified_key =
      DerOf<EVP_PKEY, i2d_PUBKEY>(X509_get0_pubkey(certificate.get()));
  EXPECT_EQ(certified_key, signing.public_key());
  EXPECT_EQ(keys.keys(1).purpose(), v1::DECRYPT);
  EXPECT_EQ(keys.keys(2).algorithm(), v1::EC_P256);
}

TEST_F(SignetdTest, CsrIsSignedOnTheTokenAndVerifies) {
  v1::CreateCsrRequest request;
  request.set_key("bank-signing");
  request.set_subject("CN=Bank Statements,O=Example Bank");
  request.add_email_addresses("statements@bank.example");
  v1::CreateCsrResponse response;
  grpc::ClientContext context;
  grpc::Status status = KeysStub()->CreateCsr(&context, request, &response);
  ++key_operations_;
  ASSERT_THAT(status, IsOk());
  const std::string path = env_->File("request.der");
  std::ofstream(path, std::ios::binary) << response.csr();
  absl::StatusOr<fixtures::CommandResult> checked =
      fixtures::RunCommand({"openssl", "req", "-inform", "DER", "-in", path, "-verify", "-noout",
                            "-subject", "-nameopt", "RFC2253"});
  ASSERT_THAT(checked, IsOk());
  EXPECT_EQ(checked->exit_code, 0) << checked->err;
  EXPECT_THAT(checked->out + checked->err, HasSubstr("verify OK"));
  EXPECT_THAT(checked->out, HasSubstr("CN=Bank Statements,O=Example Bank"));
  // Who may not administer a key is signetd_authz_test's matrix.
}

TEST_F(SignetdTest, ImportCertificateRefusesOneForAnotherKey) {
  absl::StatusOr<fixtures::CommandResult> pem = fixtures::RunCommand(
      {"openssl", "x509", "-in", env_->File("decryption.pem"), "-outform", "DER"});
  ASSERT_THAT(pem, IsOk());
  ASSERT_EQ(pem->exit_code, 0) << pem->err;
  v1::ImportCertificateRequest request;
  request.set_key("bank-signing");
  request.set_certificate(pem->out);
  v1::Key response;
  grpc::ClientContext context;
  grpc::Status status = KeysStub()->ImportCertificate(&context, request, &response);
  ++key_operations_;
  EXPECT_NE(status.error_code(), grpc::StatusCode::OK);
  EXPECT_THAT(status.error_message(), HasSubstr("another"));
}

TEST_F(SignetdTest, GenerateKeyMakesASingleUseKeyOnTheToken) {
  v1::GenerateKeyRequest request;
  request.set_token("bank-hsm");
  request.set_label("new-signing");
  request.set_algorithm(v1::EC_P256);
  request.set_purpose(v1::SIGN);
  v1::GeneratedKey response;
  grpc::ClientContext context;
  grpc::Status status = KeysStub()->GenerateKey(&context, request, &response);
  ++key_operations_;
  ASSERT_THAT(status, IsOk());
  EXPECT_EQ(response.label(), "new-signing");
  EXPECT_FALSE(response.id().empty());
  EXPECT_FALSE(response.public_key().empty());
  // The label is taken now.
  grpc::ClientContext again;
  EXPECT_NE(KeysStub()->GenerateKey(&again, request, &response).error_code(), grpc::StatusCode::OK);
  ++key_operations_;
}

}  // namespace
}  // namespace signet
