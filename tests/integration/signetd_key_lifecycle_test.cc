// A new key's whole life through the API, with no restart: the config names
// a key that is not on the token yet; GenerateKey makes it, CreateCsr has the
// token sign its request, mail calls refuse it while it has no certificate,
// ImportCertificate stores the CA's answer on the token, and it signs.
#include <grpcpp/grpcpp.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "absl/strings/str_cat.h"
#include "common/der.h"
#include "common/ossl_ptr.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/v1/keys.grpc.pb.h"
#include "signet/v1/mail.grpc.pb.h"
#include "tests/fixtures/cms_verifiers.h"
#include "tests/fixtures/mail_stream_call.h"
#include "tests/fixtures/signetd_channels.h"
#include "tests/fixtures/signetd_env.h"
#include "tests/fixtures/status_matchers.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;

using ::testing::HasSubstr;

constexpr char kMail[] =
    "From: Bank Alerts <alerts@bank.example>\r\n"
    "To: customer@example.com\r\n"
    "Subject: Card used abroad\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "Your card was used in Lisbon.\r\n";

constexpr char kCallers[] = R"pb(
  callers {
    name: "operator"
    unix_uid: $UID
    grants { keys: "alerts-signing" operations: SIGN_MAIL }
    grants { keys: "*" operations: READ_KEYS operations: ADMINISTER_KEYS }
    grants { operations: VERIFY_MAIL }
  }
)pb";

// A key the config names before it exists.
constexpr char kNewKey[] = R"pb(
  keys {
    name: "alerts-signing"
    token: "bank-hsm"
    label: "alerts-2027"
    purpose: SIGN
    sender_addresses: "alerts@bank.example"
  }
)pb";

class SignetdKeyLifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<fixtures::SignetdEnv>> env = fixtures::SignetdEnv::Start(
        {.signetd_path = SIGNETD_PATH, .callers = kCallers, .extra_config = kNewKey});
    ASSERT_THAT(env, IsOk());
    env_ = std::move(*env);
    auto channel = fixtures::UnixChannel(*env_);
    keys_ = v1::Keys::NewStub(channel);
    mail_ = v1::Mail::NewStub(channel);
  }

  fixtures::MailCallResult Sign() {
    v1::SignMailRequest::Header header;
    header.set_key("alerts-signing");
    return fixtures::StreamMail<v1::SignMailRequest>(&v1::Mail::Stub::SignMail, *mail_, header,
                                                     kMail);
  }

  std::unique_ptr<fixtures::SignetdEnv> env_;
  std::unique_ptr<v1::Keys::Stub> keys_;
  std::unique_ptr<v1::Mail::Stub> mail_;
};

TEST_F(SignetdKeyLifecycleTest, GenerateRequestCertifyAndSignWithoutARestart) {
  // Not on the token yet: the daemon started anyway and says so.
  EXPECT_EQ(Sign().status.error_code(), grpc::StatusCode::NOT_FOUND);

  v1::GenerateKeyRequest generate;
  generate.set_token("bank-hsm");
  generate.set_label("alerts-2027");
  generate.set_algorithm(v1::EC_P256);
  generate.set_purpose(v1::SIGN);
  v1::GeneratedKey generated;
  {
    grpc::ClientContext context;
    grpc::Status status = keys_->GenerateKey(&context, generate, &generated);
    ASSERT_THAT(status, IsOk());
  }

  // On the token, without a certificate: mail calls say what is missing.
  fixtures::MailCallResult uncertified = Sign();
  EXPECT_EQ(uncertified.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(uncertified.status.error_message(), HasSubstr("has no certificate yet"));

  // The token signs the request; it carries the new public key.
  v1::CreateCsrRequest csr_request;
  csr_request.set_key("alerts-signing");
  csr_request.set_subject("CN=Bank Alerts,O=Example Bank");
  csr_request.add_email_addresses("alerts@bank.example");
  v1::CreateCsrResponse csr;
  {
    grpc::ClientContext context;
    grpc::Status status = keys_->CreateCsr(&context, csr_request, &csr);
    ASSERT_THAT(status, IsOk());
  }
  const auto* cursor = reinterpret_cast<const unsigned char*>(csr.csr().data());
  OsslPtr<X509_REQ, X509_REQ_free> request(
      d2i_X509_REQ(nullptr, &cursor, static_cast<long>(csr.csr().size())));
  ASSERT_TRUE(request);
  EVP_PKEY* requested_key = X509_REQ_get0_pubkey(request.get());
  ASSERT_NE(requested_key, nullptr);
  EXPECT_EQ(X509_REQ_verify(request.get(), requested_key), 1);
  const std::string requested_der = DerOf<EVP_PKEY, i2d_PUBKEY>(requested_key);
  EXPECT_EQ(requested_der, generated.public_key());

  // The CA answers; the certificate goes onto the token beside the key.
  absl::StatusOr<X509Ptr> certificate =
      env_->ca().Issue(requested_key, "Bank Alerts", "alerts@bank.example");
  ASSERT_THAT(certificate, IsOk());
  v1::ImportCertificateRequest import;
  import.set_key("alerts-signing");
  import.set_certificate(DerOf<X509, i2d_X509>(certificate->get()));
  v1::Key imported;
  {
    grpc::ClientContext context;
    grpc::Status status = keys_->ImportCertificate(&context, import, &imported);
    ASSERT_THAT(status, IsOk());
  }
  EXPECT_EQ(imported.certificate_chain_size(), 1);

  // And it signs; openssl verifies against the CA.
  fixtures::MailCallResult signed_mail = Sign();
  ASSERT_THAT(signed_mail.status, IsOk());
  absl::Status verified = fixtures::OpensslSmimeVerify(signed_mail.body, env_->File("ca.pem"));
  EXPECT_THAT(verified, IsOk());
}

}  // namespace
}  // namespace signet
