// Time-stamped signatures through signetd: a key configured with TSAs gets
// an RFC 3161 stamp over each signature it makes when asked, from the real
// `openssl ts -reply` on loopback (tests/fixtures/tsa_responder.h); a TSA
// that is down fails the call (required) or lets the signature out unstamped
// and says so (best effort); VerifyMail reports the stamp; every outcome is
// in the audit record.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "appliance/cms/signature_timestamp.h"
#include "common/der.h"
#include "common/pem_certificates.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/v1/mail.grpc.pb.h"
#include "tests/fixtures/cms_verifiers.h"
#include "tests/fixtures/free_port.h"
#include "tests/fixtures/mail_stream_call.h"
#include "tests/fixtures/read_file.h"
#include "tests/fixtures/signetd_channels.h"
#include "tests/fixtures/signetd_env.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/test_mail.h"
#include "tests/fixtures/test_pki.h"
#include "tests/fixtures/tsa_responder.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;
using ::testing::HasSubstr;
using ::testing::Not;

using CallResult = fixtures::MailCallResult;
using fixtures::StreamMail;

struct Suite {
  // While set, the TSA answers another request than the one asked (another
  // nonce): a TSA whose replies the client must refuse.
  std::atomic<bool> misbehave{false};
  std::optional<fixtures::TempDir> dir;
  std::optional<fixtures::TestCa> tsa_root;
  EvpPkeyPtr tsa_key;
  X509Ptr tsa_certificate;
  std::unique_ptr<fixtures::TsaResponder> tsa;
  std::unique_ptr<fixtures::SignetdEnv> env;
};

class SignetdTimestampTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    suite_ = new Suite;
    ASSERT_OK_AND_ASSIGN(suite_->dir, fixtures::TempDir::Create("signet-stamps"));
    ASSERT_OK_AND_ASSIGN(suite_->tsa_root, fixtures::TestCa::Create("Signet TSA Root"));
    ASSERT_OK_AND_ASSIGN(suite_->tsa_key, fixtures::GenerateKey("EC:P-256"));
    ASSERT_OK_AND_ASSIGN(suite_->tsa_certificate,
                         suite_->tsa_root->Issue(suite_->tsa_key.get(), "Signet Test TSA", "",
                                                 {.extended_key_usage = "critical,timeStamping"}));
    Suite* suite = suite_;
    ASSERT_OK_AND_ASSIGN(
        suite_->tsa,
        fixtures::TsaResponder::Start(
            {.signer = suite_->tsa_certificate.get(),
             .signer_key = suite_->tsa_key.get(),
             .rewrite_request = [suite](const std::string& request) -> absl::StatusOr<std::string> {
               if (!suite->misbehave) return request;
               return fixtures::WithOtherNonce(request);
             }}));
    const std::string anchors = suite_->dir->File("tsa-root.pem");
    ASSERT_THAT(fixtures::WritePem(anchors, suite_->tsa_root->certificate()), IsOk());
    // Nothing listens there: a TSA that is down.
    ASSERT_OK_AND_ASSIGN(int closed_port, fixtures::FreePort());
    const std::string down = absl::StrCat("http://127.0.0.1:", closed_port, "/tsa");
    const std::string urls =
        absl::StrCat("tsa_urls: \"", down, "\" tsa_urls: \"", suite_->tsa->Url(), "\"");
    auto stamping = [&](const std::string& tsa_urls, const char* mode) {
      return absl::StrCat("timestamps { ", tsa_urls, " mode: ", mode, " timeout_seconds: 2",
                          " tsa_trust_anchors_file: \"", anchors, "\" }");
    };
    ASSERT_OK_AND_ASSIGN(
        suite_->env,
        fixtures::SignetdEnv::Start(
            {.signetd_path = SIGNETD_PATH,
             .extra_config =
                 absl::StrCat("validation { tsa_trust_anchors_file: \"", anchors, "\" }"),
             // The TSA that is down first: failover to the working one.
             .key_config = {{"bank-signing", stamping(urls, "TIMESTAMP_REQUIRED")},
                            {"other-signing", stamping(urls, "TIMESTAMP_BEST_EFFORT")}}}));
  }

  static void TearDownTestSuite() {
    delete suite_;
    suite_ = nullptr;
  }

  void SetUp() override { ASSERT_NE(suite_->env, nullptr); }
  void TearDown() override { suite_->misbehave = false; }

  static grpc::Status SignDigest(bool timestamp, v1::SignDigestResponse* response) {
    auto stub = v1::Mail::NewStub(fixtures::UnixChannel(*suite_->env));
    grpc::ClientContext context;
    v1::SignDigestRequest request;
    request.set_key("other-signing");
    request.set_digest(std::string(32, '\x5a'));
    request.set_timestamp(timestamp);
    return stub->SignDigest(&context, request, response);
  }

  static CallResult Sign(const std::string& key, bool timestamp, const std::string& mail) {
    auto stub = v1::Mail::NewStub(fixtures::UnixChannel(*suite_->env));
    v1::SignMailRequest::Header header;
    header.set_key(key);
    header.mutable_options()->set_timestamp(timestamp);
    return StreamMail<v1::SignMailRequest>(&v1::Mail::Stub::SignMail, *stub, header, mail);
  }

  static CallResult Verify(const std::string& mail) {
    auto stub = v1::Mail::NewStub(fixtures::UnixChannel(*suite_->env));
    v1::VerifyMailRequest::Header header;
    header.set_require_trusted_chain(true);
    return StreamMail<v1::VerifyMailRequest>(&v1::Mail::Stub::VerifyMail, *stub, header, mail);
  }

  static std::string AuditLog() { return fixtures::ReadFile(suite_->env->AuditLogPath()); }

  static Suite* suite_;
};

Suite* SignetdTimestampTest::suite_ = nullptr;

TEST_F(SignetdTimestampTest, AStampedSignatureVerifiesHereAndWithOpenssl) {
  const int requests_before = suite_->tsa->Requests();
  CallResult signed_mail = Sign("bank-signing", true, fixtures::TestMail{}.Text());
  ASSERT_THAT(signed_mail.status, IsOk()) << signed_mail.status.error_message();
  const v1::SignatureTimestamp& stamp = signed_mail.header.timestamp();
  EXPECT_TRUE(stamp.stamped());
  EXPECT_EQ(stamp.url(), suite_->tsa->Url());
  EXPECT_EQ(stamp.policy(), fixtures::kTsaDefaultPolicy);
  EXPECT_FALSE(stamp.serial_hex().empty());
  EXPECT_EQ(suite_->tsa->Requests(), requests_before + 1);
  // The stamp is an unsigned attribute: the signature is unchanged for
  // verifiers that do not read it.
  EXPECT_THAT(fixtures::OpensslSmimeVerify(signed_mail.body, suite_->env->File("ca.pem"), nullptr),
              IsOk());

  CallResult verified = Verify(signed_mail.body);
  ASSERT_THAT(verified.status, IsOk()) << verified.status.error_message();
  const v1::TimestampReport& report = verified.header.signers(0).timestamp();
  EXPECT_EQ(report.status(), v1::TIMESTAMP_VALID) << report.detail();
  EXPECT_EQ(report.serial_hex(), stamp.serial_hex());
  EXPECT_THAT(report.tsa(), HasSubstr("Signet Test TSA"));

  EXPECT_THAT(AuditLog(),
              HasSubstr(absl::StrCat("\"timestamp_serial_hex\":\"", stamp.serial_hex())));
}

TEST_F(SignetdTimestampTest, AStampedSignAndEncryptMailDecryptsToAStampedSignature) {
  // The stamp goes inside the envelope: signed, stamped, then encrypted.
  ASSERT_OK_AND_ASSIGN(std::vector<X509Ptr> recipient,
                       ReadPemCertificates(suite_->env->File("decryption.pem")));
  ASSERT_FALSE(recipient.empty());
  auto stub = v1::Mail::NewStub(fixtures::UnixChannel(*suite_->env));
  v1::SignAndEncryptMailRequest::Header header;
  header.set_signing_key("bank-signing");
  header.mutable_sign()->set_timestamp(true);
  header.mutable_encrypt()->add_recipient_certificates(
      DerOf<X509, i2d_X509>(recipient.front().get()));
  CallResult encrypted = StreamMail<v1::SignAndEncryptMailRequest>(
      &v1::Mail::Stub::SignAndEncryptMail, *stub, header, fixtures::TestMail{}.Text());
  ASSERT_THAT(encrypted.status, IsOk()) << encrypted.status.error_message();
  EXPECT_TRUE(encrypted.header.timestamp().stamped());

  v1::DecryptMailRequest::Header decrypt;
  decrypt.set_key("bank-decryption");
  CallResult decrypted = StreamMail<v1::DecryptMailRequest>(&v1::Mail::Stub::DecryptMail, *stub,
                                                            decrypt, encrypted.body);
  ASSERT_THAT(decrypted.status, IsOk()) << decrypted.status.error_message();
  CallResult verified = Verify(decrypted.body);
  ASSERT_THAT(verified.status, IsOk()) << verified.status.error_message();
  const v1::TimestampReport& report = verified.header.signers(0).timestamp();
  EXPECT_EQ(report.status(), v1::TIMESTAMP_VALID) << report.detail();
  EXPECT_EQ(report.serial_hex(), encrypted.header.timestamp().serial_hex());
}

TEST_F(SignetdTimestampTest, AKeyThatStampsOnlyWhenAskedDoesNotStampOtherwise) {
  CallResult signed_mail = Sign("bank-signing", false, fixtures::TestMail{}.Text());
  ASSERT_THAT(signed_mail.status, IsOk());
  EXPECT_FALSE(signed_mail.header.has_timestamp());
  CallResult verified = Verify(signed_mail.body);
  ASSERT_THAT(verified.status, IsOk());
  EXPECT_EQ(verified.header.signers(0).timestamp().status(), v1::TIMESTAMP_NONE);
}

// A TSA whose replies do not check: a required stamp fails the call and
// nothing signed is released; the record says why.
TEST_F(SignetdTimestampTest, ARequiredStampThatFailsReleasesNothing) {
  suite_->misbehave = true;
  CallResult signed_mail = Sign("bank-signing", true, fixtures::TestMail{}.Text());
  EXPECT_EQ(signed_mail.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << signed_mail.status.error_message();
  EXPECT_THAT(signed_mail.status.error_message(), HasSubstr("could not be time-stamped"));
  EXPECT_TRUE(signed_mail.body.empty());
  EXPECT_THAT(AuditLog(), HasSubstr("\"timestamp_problem\":\""));
}

// SignDigest's SignedData carries the stamp over its signature; with best
// effort and a TSA that fails, it goes out unstamped and says why.
TEST_F(SignetdTimestampTest, SignDigestIsStampedOrUnderBestEffortSaysWhyNot) {
  v1::SignDigestResponse stamped;
  grpc::Status status = SignDigest(true, &stamped);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(stamped.timestamp().stamped());
  ASSERT_OK_AND_ASSIGN(std::vector<cms::SignatureTimestamp> stamps,
                       cms::SignatureTimestamps({}, stamped.signature()));
  ASSERT_EQ(stamps.size(), 1u);
  EXPECT_TRUE(stamps[0].token_der.has_value());

  suite_->misbehave = true;
  v1::SignDigestResponse unstamped;
  status = SignDigest(true, &unstamped);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(unstamped.timestamp().stamped());
  EXPECT_THAT(unstamped.timestamp().problem(), HasSubstr("no TSA gave"));
  EXPECT_FALSE(unstamped.signature().empty());
}

}  // namespace
}  // namespace signet
