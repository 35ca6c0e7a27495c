#include "appliance/directory/directory.h"

#include <openssl/x509.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "appliance/cms/recipient_check.h"
#include "appliance/cms/trust_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/test_pki.h"

namespace signet::directory {
namespace {

using ::signet::matchers::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string Der(X509* certificate) {
  unsigned char* der = nullptr;
  const int length = i2d_X509(certificate, &der);
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  return out;
}

// A source answering from a fixed table, counting its calls. The real
// sources (store, LDAP, SMIMEA) have tests of their own against real
// servers; this one is about what the directory does with their answers.
class TableSource : public CertificateSource {
 public:
  explicit TableSource(std::string name) : name_(std::move(name)) {}
  absl::string_view name() const override { return name_; }
  absl::StatusOr<std::vector<DirectoryCertificate>> Find(absl::string_view address) override {
    ++calls;
    if (!failure.ok()) return failure;
    auto it = table.find(std::string(address));
    if (it == table.end()) return std::vector<DirectoryCertificate>{};
    return it->second;
  }

  std::map<std::string, std::vector<DirectoryCertificate>> table;
  absl::Status failure;
  int calls = 0;

 private:
  std::string name_;
};

class DirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<fixtures::TestCa> ca = fixtures::TestCa::Create("Directory Test CA");
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = std::make_unique<fixtures::TestCa>(*std::move(ca));
    absl::StatusOr<fixtures::TestCa> stranger = fixtures::TestCa::Create("Someone Else's CA");
    ASSERT_TRUE(stranger.ok()) << stranger.status();
    stranger_ = std::make_unique<fixtures::TestCa>(*std::move(stranger));
    absl::StatusOr<cms::TrustStore> trust = cms::TrustStore::FromCertificates({ca_->certificate()});
    ASSERT_TRUE(trust.ok()) << trust.status();
    trust_ = std::make_unique<cms::TrustStore>(*std::move(trust));
    absl::StatusOr<EvpPkeyPtr> key = fixtures::GenerateKey("EC:P-256");
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = *std::move(key);
  }

  DirectoryCertificate Issue(fixtures::TestCa& ca, const std::string& email,
                             fixtures::IssueOptions options = {}, const std::string& source = "") {
    options.for_encryption = true;
    absl::StatusOr<X509Ptr> certificate = ca.Issue(key_.get(), "Recipient", email, options);
    EXPECT_TRUE(certificate.ok()) << certificate.status();
    return {.der = certificate.ok() ? Der(certificate->get()) : "", .source = source};
  }

  Directory Make(std::vector<std::shared_ptr<CertificateSource>> sources) {
    return Directory({.sources = std::move(sources), .validate = [this](X509* certificate) {
                        return cms::CheckRecipients({}, *trust_, {certificate});
                      }});
  }

  std::unique_ptr<fixtures::TestCa> ca_;
  std::unique_ptr<fixtures::TestCa> stranger_;
  std::unique_ptr<cms::TrustStore> trust_;
  EvpPkeyPtr key_;
};

TEST_F(DirectoryTest, TheFirstSourceWithAUsableCertificateAnswersAndLaterOnesAreNotAsked) {
  auto store = std::make_shared<TableSource>("store");
  auto ldap = std::make_shared<TableSource>("ldap");
  store->table["alice@bank.example"] = {Issue(*ca_, "alice@bank.example", {}, "published")};
  ldap->table["alice@bank.example"] = {Issue(*ca_, "alice@bank.example", {}, "ldap x")};
  const Directory directory = Make({store, ldap});
  absl::StatusOr<LookupResult> result = directory.Lookup("Alice@Bank.Example");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->address, "alice@bank.example");
  ASSERT_EQ(result->certificates.size(), 1u);
  EXPECT_EQ(result->certificates[0].found.source, "published");
  EXPECT_EQ(result->certificates[0].sha256_hex.size(), 64u);
  EXPECT_EQ(ldap->calls, 0);
}

TEST_F(DirectoryTest, UnusableCertificatesAreSkippedWithTheReasonAndTheNextSourceIsAsked) {
  auto store = std::make_shared<TableSource>("store");
  auto ldap = std::make_shared<TableSource>("ldap");
  store->table["bob@bank.example"] = {
      Issue(*ca_, "bob@bank.example",
            {.validity = absl::Hours(24), .not_before_offset = -absl::Hours(48)}, "published"),
      Issue(*stranger_, "bob@bank.example", {}, "published"),
      Issue(*ca_, "carol@bank.example", {}, "published"),
      {.der = "not a certificate", .source = "published"}};
  ldap->table["bob@bank.example"] = {Issue(*ca_, "bob@bank.example", {}, "ldap ldap://x")};
  absl::StatusOr<LookupResult> result = Make({store, ldap}).Lookup("bob@bank.example");
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->certificates.size(), 1u);
  EXPECT_EQ(result->certificates[0].found.source, "ldap ldap://x");
  ASSERT_EQ(result->problems.size(), 4u);
  EXPECT_THAT(result->problems[0], HasSubstr("expired"));
  EXPECT_THAT(result->problems[1], HasSubstr("UNTRUSTED"));
  EXPECT_THAT(result->problems[2], HasSubstr("does not name bob@bank.example"));
  EXPECT_THAT(result->problems[3], HasSubstr("not one DER X.509"));
}

TEST_F(DirectoryTest, ASourceThatFailsIsReportedAndTheNextIsAsked) {
  auto ldap = std::make_shared<TableSource>("ldap");
  ldap->failure = absl::UnavailableError("every server failed");
  auto smimea = std::make_shared<TableSource>("smimea");
  absl::StatusOr<LookupResult> result = Make({ldap, smimea}).Lookup("dave@bank.example");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->certificates, IsEmpty());
  EXPECT_THAT(result->problems, ElementsAre("ldap: every server failed"));
  EXPECT_EQ(smimea->calls, 1);
}

TEST_F(DirectoryTest, NewestFirstAndDuplicatesOnce) {
  auto store = std::make_shared<TableSource>("store");
  DirectoryCertificate older =
      Issue(*ca_, "erin@bank.example", {.not_before_offset = -absl::Hours(5)}, "published");
  DirectoryCertificate newer =
      Issue(*ca_, "erin@bank.example", {.not_before_offset = -absl::Hours(1)}, "published");
  store->table["erin@bank.example"] = {older, newer, older};
  absl::StatusOr<LookupResult> result = Make({store}).Lookup("erin@bank.example");
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->certificates.size(), 2u);
  EXPECT_EQ(result->certificates[0].found.der, newer.der);
  EXPECT_EQ(result->certificates[1].found.der, older.der);
}

TEST_F(DirectoryTest, DaneEeIsUsableWithoutAChainOnlyWhenTrusted) {
  auto smimea = std::make_shared<TableSource>("smimea");
  DirectoryCertificate dane = Issue(*stranger_, "frank@bank.example", {}, "smimea");
  dane.dane_usage = 3;
  smimea->table["frank@bank.example"] = {dane};
  absl::StatusOr<LookupResult> strict = Make({smimea}).Lookup("frank@bank.example");
  ASSERT_TRUE(strict.ok());
  EXPECT_THAT(strict->certificates, IsEmpty());
  Directory trusting({.sources = {smimea},
                      .validate = [](X509*) { return absl::InvalidArgumentError("UNTRUSTED"); },
                      .trust_dane_ee = true});
  absl::StatusOr<LookupResult> dane_result = trusting.Lookup("frank@bank.example");
  ASSERT_TRUE(dane_result.ok());
  EXPECT_EQ(dane_result->certificates.size(), 1u);
}

TEST_F(DirectoryTest, MalformedAddressIsRefusedBeforeAnySourceIsAsked) {
  auto store = std::make_shared<TableSource>("store");
  EXPECT_THAT(Make({store}).Lookup("not an address"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(store->calls, 0);
}

}  // namespace
}  // namespace signet::directory
