#include "appliance/dev/demo_ca.h"

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/subprocess.h"
#include "tests/fixtures/temp_dir.h"

namespace signet::dev {
namespace {

using ::signet::matchers::IsOk;
using ::testing::Not;

using ::testing::HasSubstr;

EvpPkeyPtr NewKey(const char* algorithm) {
  if (std::string(algorithm) == "EC")
    return EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  return EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)));
}

class DemoCaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<fixtures::TempDir> dir = fixtures::TempDir::Create("demo-ca");
    ASSERT_THAT(dir, IsOk());
    dir_ = std::make_unique<fixtures::TempDir>(std::move(*dir));
    ca_key_ = NewKey("EC");
    absl::StatusOr<X509Ptr> ca = IssueCertificate(
        {.common_name = "Demo CA", .organization = "Demo", .role = CertificateRole::kCa},
        ca_key_.get(), nullptr, ca_key_.get());
    ASSERT_THAT(ca, IsOk());
    ca_ = std::move(*ca);
    ca_file_ = Write("ca.pem", ca_.get());
  }

  std::string Write(const std::string& name, X509* certificate) {
    absl::StatusOr<std::string> pem = CertificatePem(certificate);
    EXPECT_THAT(pem, IsOk());
    std::ofstream(dir_->File(name)) << pem.value_or("");
    return dir_->File(name);
  }

  // `openssl verify`, independent of the code under test.
  fixtures::CommandResult OpensslVerify(const std::string& file, const std::string& purpose) {
    absl::StatusOr<fixtures::CommandResult> result = fixtures::RunCommand(
        {"openssl", "verify", "-x509_strict", "-CAfile", ca_file_, "-purpose", purpose, file});
    EXPECT_THAT(result, IsOk());
    return result.value_or(fixtures::CommandResult{});
  }

  std::unique_ptr<fixtures::TempDir> dir_;
  EvpPkeyPtr ca_key_;
  X509Ptr ca_;
  std::string ca_file_;
};

TEST_F(DemoCaTest, SelfSignedCaIsACa) {
  EXPECT_EQ(X509_check_ca(ca_.get()), 1);
  EXPECT_EQ(X509_check_issued(ca_.get(), ca_.get()), X509_V_OK);
  EXPECT_EQ(OpensslVerify(ca_file_, "any").exit_code, 0);
}

TEST_F(DemoCaTest, MailCertificatesChainAndCarryTheirAddresses) {
  EvpPkeyPtr signing = NewKey("EC");
  absl::StatusOr<X509Ptr> leaf = IssueCertificate({.common_name = "Statements",
                                                   .organization = "Example Bank",
                                                   .role = CertificateRole::kMailSigning,
                                                   .emails = {"statements@bank.example"}},
                                                  signing.get(), ca_.get(), ca_key_.get());
  ASSERT_THAT(leaf, IsOk());
  const std::string file = Write("signing.pem", leaf->get());
  fixtures::CommandResult verified = OpensslVerify(file, "smimesign");
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_EQ(X509_check_email(leaf->get(), "statements@bank.example", 0, 0), 1);
  EXPECT_EQ(X509_check_ca(leaf->get()), 0);
  // A signing certificate is not an encryption certificate.
  EXPECT_NE(OpensslVerify(file, "smimeencrypt").exit_code, 0);

  EvpPkeyPtr decryption = NewKey("RSA");
  absl::StatusOr<X509Ptr> recipient = IssueCertificate({.common_name = "Customer",
                                                        .role = CertificateRole::kMailDecryption,
                                                        .emails = {"customer@example.com"}},
                                                       decryption.get(), ca_.get(), ca_key_.get());
  ASSERT_THAT(recipient, IsOk());
  EXPECT_EQ(OpensslVerify(Write("recipient.pem", recipient->get()), "smimeencrypt").exit_code, 0);
  EXPECT_TRUE(X509_get_key_usage(recipient->get()) & KU_KEY_ENCIPHERMENT);
}

TEST_F(DemoCaTest, TlsCertificatesNameTheLoopbackServer) {
  EvpPkeyPtr key = NewKey("EC");
  absl::StatusOr<X509Ptr> server = IssueCertificate({.common_name = "localhost",
                                                     .role = CertificateRole::kTlsServer,
                                                     .dns_names = {"localhost"},
                                                     .ip_addresses = {"127.0.0.1"}},
                                                    key.get(), ca_.get(), ca_key_.get());
  ASSERT_THAT(server, IsOk());
  EXPECT_EQ(OpensslVerify(Write("server.pem", server->get()), "sslserver").exit_code, 0);
  EXPECT_EQ(X509_check_host(server->get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(server->get(), "127.0.0.1", 0), 1);

  absl::StatusOr<X509Ptr> client =
      IssueCertificate({.common_name = "client", .role = CertificateRole::kTlsClient}, key.get(),
                       ca_.get(), ca_key_.get());
  ASSERT_THAT(client, IsOk());
  const std::string file = Write("client.pem", client->get());
  EXPECT_EQ(OpensslVerify(file, "sslclient").exit_code, 0);
  EXPECT_NE(OpensslVerify(file, "sslserver").exit_code, 0);
}

TEST_F(DemoCaTest, TheTsaCertificateIsForTimeStampingOnlyAndSaysSoCritically) {
  EvpPkeyPtr key = NewKey("EC");
  absl::StatusOr<X509Ptr> tsa =
      IssueCertificate({.common_name = "TSA", .role = CertificateRole::kTimeStamping}, key.get(),
                       ca_.get(), ca_key_.get());
  ASSERT_THAT(tsa, IsOk());
  const std::string file = Write("tsa.pem", tsa->get());
  // OpenSSL's timestampsign purpose wants the extended key usage critical
  // and timeStamping alone, as RFC 3161 section 2.3 does.
  EXPECT_EQ(OpensslVerify(file, "timestampsign").exit_code, 0);
  EXPECT_NE(OpensslVerify(file, "smimesign").exit_code, 0);
  const int at = X509_get_ext_by_NID(tsa->get(), NID_ext_key_usage, -1);
  ASSERT_GE(at, 0);
  EXPECT_EQ(X509_EXTENSION_get_critical(X509_get_ext(tsa->get(), at)), 1);
  EXPECT_EQ(X509_get_extended_key_usage(tsa->get()), static_cast<uint32_t>(XKU_TIMESTAMP));
}

TEST_F(DemoCaTest, RefusesMissingKeysAndBadAddresses) {
  EXPECT_EQ(
      IssueCertificate({.common_name = "x"}, nullptr, ca_.get(), ca_key_.get()).status().code(),
      absl::StatusCode::kInvalidArgument);
  EvpPkeyPtr key = NewKey("EC");
  absl::Status bad_ip =
      IssueCertificate(
          {.common_name = "x", .role = CertificateRole::kTlsServer, .ip_addresses = {"not-an-ip"}},
          key.get(), ca_.get(), ca_key_.get())
          .status();
  EXPECT_THAT(bad_ip, Not(IsOk()));
  EXPECT_THAT(bad_ip.message(), HasSubstr("not-an-ip"));
}

}  // namespace
}  // namespace signet::dev
