// The configuration's validation section: what the validator refuses, and
// the policy and CRL store it makes.
#include "appliance/server/config/validation_config.h"

#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/temp_dir.h"
#include "tests/fixtures/test_pki.h"

namespace signet::server {
namespace {

using ::signet::matchers::IsOk;
using ::signet::matchers::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

config::v1::Validation Parse(const std::string& text) {
  config::v1::Validation validation;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &validation)) << text;
  return validation;
}

constexpr char kFingerprint[] =
    "3A:4F:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:"
    "CC:9C";

TEST(ValidationConfigTest, AGoodSectionHasNoProblems) {
  EXPECT_THAT(ValidationProblems(
                  Parse(absl::StrCat(R"pb(
                                       revocation: REVOCATION_REQUIRE
                                       anchors { sha256_fingerprint: ")pb",
                                     kFingerprint, R"pb(" revocation: REVOCATION_OFF }
                                                        crl_files: "/etc/signet/ca.crl"
                                                        crl_directory: "/etc/signet/crl"
                                                        fetch_timeout_seconds: 10
                                                        acceptable_policies: "1.3.6.1.4.1.99999.1.1"
                  )pb"))),
              IsEmpty());
}

TEST(ValidationConfigTest, EachProblemIsNamedWhereItIs) {
  EXPECT_THAT(
      ValidationProblems(Parse(absl::StrCat(R"pb(
                                              anchors { sha256_fingerprint: "3A:4F" }
                                              anchors { sha256_fingerprint: ")pb",
                                            kFingerprint, R"pb(" }
                                                               anchors { sha256_fingerprint: ")pb",
                                            absl::AsciiStrToLower(kFingerprint),
                                            R"pb(" }
                                                 fetch_timeout_seconds: 61
                                                 acceptable_policies: "not an oid"
                                            )pb"))),
      ElementsAre(Pair("validation.anchors[0]", HasSubstr("64 hex digits")),
                  Pair("validation.anchors[2]", HasSubstr("same anchor as validation.anchors[1]")),
                  Pair("validation", HasSubstr("fetch_timeout_seconds 61 is more than 60")),
                  Pair("validation.acceptable_policies[0]", HasSubstr("not a dotted OID"))));
  EXPECT_THAT(
      ValidationProblems(Parse(absl::StrCat("anchors { sha256_fingerprint: \"", kFingerprint,
                                            "\" policies { acceptable_policies: \"x\" } }"))),
      ElementsAre(Pair("validation.anchors[0].policies.acceptable_policies[0]",
                       HasSubstr("not a dotted OID"))));
}

TEST(ValidationConfigTest, TheDefaultIsPreferAndFetches) {
  ASSERT_OK_AND_ASSIGN(pki::ValidationPolicy policy, ValidationPolicyOf({}));
  EXPECT_EQ(policy.revocation, pki::RevocationMode::kPrefer);
  EXPECT_TRUE(policy.ChecksRevocation());
  ASSERT_NE(policy.crls, nullptr);
}

TEST(ValidationConfigTest, TheRefresherAndStaleBoundHaveDefaults) {
  EXPECT_EQ(CrlRefreshInterval({}), absl::Seconds(60));
  EXPECT_EQ(CrlStaleAfter({}), absl::Hours(1));
  const config::v1::Validation set =
      Parse("crl_refresh_interval_seconds: 15 crl_stale_after_seconds: 86400");
  EXPECT_EQ(CrlRefreshInterval(set), absl::Seconds(15));
  EXPECT_EQ(CrlStaleAfter(set), absl::Hours(24));
}

TEST(ValidationConfigTest, AnAnchorMayHaveItsOwnPoliciesAndKeepTheSectionsMode) {
  ASSERT_OK_AND_ASSIGN(
      pki::ValidationPolicy policy,
      ValidationPolicyOf(Parse(absl::StrCat(
          "revocation: REVOCATION_REQUIRE acceptable_policies: \"1.3.6.1.4.1.99999.1.1\" "
          "anchors { sha256_fingerprint: \"",
          kFingerprint,
          "\" policies { acceptable_policies: \"1.3.6.1.4.1.99999.1.2\" "
          "require_explicit_policy: true inhibit_any_policy: true } }"))));
  EXPECT_THAT(policy.policies.acceptable, ElementsAre("1.3.6.1.4.1.99999.1.1"));
  EXPECT_FALSE(policy.policies.require_explicit);
  ASSERT_EQ(policy.anchor_policies.count(NormalizedFingerprint(kFingerprint)), 1u);
  const pki::CertificatePolicies& own = policy.anchor_policies[NormalizedFingerprint(kFingerprint)];
  EXPECT_THAT(own.acceptable, ElementsAre("1.3.6.1.4.1.99999.1.2"));
  EXPECT_TRUE(own.require_explicit);
  EXPECT_TRUE(own.inhibit_any);
  EXPECT_FALSE(own.inhibit_mapping);
  // Listed for its policies only: the section's revocation mode applies.
  EXPECT_TRUE(policy.anchor_revocation.empty());
  EXPECT_EQ(policy.revocation, pki::RevocationMode::kRequire);
}

TEST(ValidationConfigTest, OffEverywhereMakesNoCrlStore) {
  ASSERT_OK_AND_ASSIGN(pki::ValidationPolicy policy,
                       ValidationPolicyOf(Parse("revocation: REVOCATION_OFF")));
  EXPECT_FALSE(policy.ChecksRevocation());
  EXPECT_EQ(policy.crls, nullptr);
}

TEST(ValidationConfigTest, AnchorsAreKeyedByTheNormalizedFingerprint) {
  ASSERT_OK_AND_ASSIGN(
      pki::ValidationPolicy policy,
      ValidationPolicyOf(Parse(absl::StrCat("revocation: REVOCATION_OFF anchors { "
                                            "sha256_fingerprint: \"",
                                            kFingerprint, "\" revocation: REVOCATION_REQUIRE }"))));
  EXPECT_THAT(policy.anchor_revocation, ElementsAre(Pair(NormalizedFingerprint(kFingerprint),
                                                         pki::RevocationMode::kRequire)));
  EXPECT_EQ(NormalizedFingerprint(kFingerprint).size(), 64u);
  // One anchor that checks is enough for a CRL store.
  EXPECT_TRUE(policy.ChecksRevocation());
  EXPECT_NE(policy.crls, nullptr);
}

TEST(ValidationConfigTest, AMissingOrBadCrlFileStopsTheStart) {
  ASSERT_OK_AND_ASSIGN(fixtures::TempDir dir, fixtures::TempDir::Create("signet-validation"));
  EXPECT_THAT(ValidationPolicyOf(Parse(absl::StrCat("crl_files: \"", dir.path(), "/none.crl\""))),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("does not exist")));
  const std::string text = dir.path() + "/text.crl";
  std::ofstream(text) << "not a CRL";
  EXPECT_THAT(ValidationPolicyOf(Parse(absl::StrCat("crl_files: \"", text, "\""))),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is not a CRL")));

  ASSERT_OK_AND_ASSIGN(fixtures::TestCa ca, fixtures::TestCa::Create());
  ASSERT_OK_AND_ASSIGN(X509CrlPtr crl, ca.MakeCrl());
  ASSERT_OK_AND_ASSIGN(std::string pem, fixtures::ToPem(crl.get()));
  const std::string good = dir.path() + "/ca.crl";
  std::ofstream(good) << pem;
  EXPECT_THAT(ValidationPolicyOf(Parse(absl::StrCat("crl_files: \"", good, "\" offline: true"))),
              IsOk());
}

TEST(ValidationConfigTest, CrlIssuerCertificatesAreReadAtStart) {
  ASSERT_OK_AND_ASSIGN(fixtures::TempDir dir, fixtures::TempDir::Create("signet-validation"));
  const std::string path = dir.path() + "/crl-issuers.pem";
  const std::string setting = absl::StrCat("crl_issuer_certificates_file: \"", path, "\"");
  EXPECT_THAT(ValidationPolicyOf(Parse(setting)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("validation.crl_issuer_certificates_file")));
  std::ofstream(path) << "no certificate here";
  EXPECT_THAT(ValidationPolicyOf(Parse(setting)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no certificate")));

  ASSERT_OK_AND_ASSIGN(fixtures::TestCa first, fixtures::TestCa::Create("First CRL Issuer"));
  ASSERT_OK_AND_ASSIGN(fixtures::TestCa second, fixtures::TestCa::Create("Second CRL Issuer"));
  ASSERT_OK_AND_ASSIGN(std::string first_pem, fixtures::ToPem(first.certificate()));
  ASSERT_OK_AND_ASSIGN(std::string second_pem, fixtures::ToPem(second.certificate()));
  std::ofstream(path, std::ios::trunc) << first_pem << second_pem;
  ASSERT_OK_AND_ASSIGN(pki::ValidationPolicy policy, ValidationPolicyOf(Parse(setting)));
  ASSERT_NE(policy.crl_issuers, nullptr);
  EXPECT_EQ(policy.crl_issuers->size(), 2u);
}

TEST(ValidationConfigTest, OcspSettingsWithoutProblems) {
  EXPECT_THAT(ValidationProblems(Parse(R"pb(
                ocsp: true
                ocsp_responder: "http://ocsp.bank.example/"
                revocation_order: CRL_FIRST
                ocsp_max_age_seconds: 600
                max_cached_ocsp_answers: 10
              )pb")),
              IsEmpty());
  EXPECT_THAT(ValidationProblems(Parse("offline: true ocsp: false")), IsEmpty());
}

TEST(ValidationConfigTest, EachOcspProblemIsNamed) {
  EXPECT_THAT(ValidationProblems(Parse(R"pb(
                ocsp_responder: "https://ocsp.bank.example/"
                ocsp_max_age_seconds: 604801
              )pb")),
              ElementsAre(Pair("validation", HasSubstr("is not an http: URL")),
                          Pair("validation", HasSubstr("ocsp_max_age_seconds 604801 is more"))));
  EXPECT_THAT(
      ValidationProblems(Parse(R"pb(
        ocsp: false ocsp_responder: "http://ocsp.bank.example/"
      )pb")),
      ElementsAre(Pair("validation", HasSubstr("ocsp_responder is set but ocsp is false"))));
  EXPECT_THAT(ValidationProblems(Parse("offline: true ocsp: true")),
              ElementsAre(Pair("validation", HasSubstr("offline asks no OCSP responder"))));
  EXPECT_THAT(ValidationProblems(Parse(R"pb(
                offline: true
                ocsp_responder: "http://ocsp.bank.example/"
              )pb")),
              ElementsAre(Pair("validation", HasSubstr("offline asks no OCSP responder"))));
}

TEST(ValidationConfigTest, OcspIsOnAndAskedFirstByDefault) {
  ASSERT_OK_AND_ASSIGN(pki::ValidationPolicy policy, ValidationPolicyOf({}));
  ASSERT_NE(policy.ocsp, nullptr);
  EXPECT_EQ(policy.order, pki::RevocationOrder::kOcspFirst);

  ASSERT_OK_AND_ASSIGN(fixtures::TestCa ca, fixtures::TestCa::Create());
  ASSERT_OK_AND_ASSIGN(EvpPkeyPtr key, fixtures::GenerateKey("EC:P-256"));
  ASSERT_OK_AND_ASSIGN(
      X509Ptr certificate,
      ca.Issue(key.get(), "Statements", "", {.ocsp_responders = {"http://ocsp.ca.example/"}}));
  EXPECT_EQ(policy.ocsp->ResponderFor(certificate.get()), "http://ocsp.ca.example/");
  ASSERT_OK_AND_ASSIGN(pki::ValidationPolicy configured, ValidationPolicyOf(Parse(R"pb(
                         ocsp_responder: "http://ocsp.bank.example/"
                         revocation_order: CRL_FIRST
                       )pb")));
  ASSERT_NE(configured.ocsp, nullptr);
  EXPECT_EQ(configured.ocsp->ResponderFor(certificate.get()), "http://ocsp.bank.example/");
  EXPECT_EQ(configured.order, pki::RevocationOrder::kCrlFirst);
}

TEST(ValidationConfigTest, OfflineOrOffMakesNoOcspClient) {
  for (const char* text : {"offline: true", "ocsp: false", "revocation: REVOCATION_OFF"}) {
    ASSERT_OK_AND_ASSIGN(pki::ValidationPolicy policy, ValidationPolicyOf(Parse(text)));
    EXPECT_EQ(policy.ocsp, nullptr) << text;
  }
}

}  // namespace
}  // namespace signet::server
