#include "appliance/directory/ldif_export.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "appliance/directory/ldap_source.h"
#include "common/ossl_ptr.h"
#include "tests/fixtures/slapd.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/test_pki.h"

namespace signet::directory {
namespace {

using ::signet::fixtures::Slapd;
using ::signet::matchers::IsOk;
using ::signet::matchers::IsOkAndHolds;
using ::signet::matchers::StatusIs;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;

constexpr char kBase[] = "ou=people,dc=bank,dc=example";

auto Der(const std::string& der) { return Field(&DirectoryCertificate::der, der); }

class LdifExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(ca_, fixtures::TestCa::Create());
    ASSERT_OK_AND_ASSIGN(key_, fixtures::GenerateKey("EC:P-256"));
  }

  std::string Issue(const std::string& cn, const std::string& email,
                    fixtures::IssueOptions options = {}) {
    auto certificate = ca_->Issue(key_.get(), cn, email, options);
    EXPECT_THAT(certificate, IsOk());
    if (!certificate.ok()) return {};
    auto der = fixtures::ToDer(certificate->get());
    EXPECT_THAT(der, IsOk());
    return der.ok() ? *der : std::string();
  }

  std::optional<fixtures::TestCa> ca_;
  EvpPkeyPtr key_;
};

TEST(EscapeDnValue, EscapesWhatRfc4514Asks) {
  EXPECT_EQ(EscapeDnValue("alice@bank.example"), "alice@bank.example");
  EXPECT_EQ(EscapeDnValue("a+b=c@bank.example"), "a\\+b\\=c@bank.example");
  EXPECT_EQ(EscapeDnValue("#x@y"), "\\#x@y");
  EXPECT_EQ(EscapeDnValue("x#y"), "x#y");
  EXPECT_EQ(EscapeDnValue(" a b "), "\\ a b\\ ");
  EXPECT_EQ(EscapeDnValue("\"<,;>\\"), "\\\"\\<\\,\\;\\>\\\\");
  EXPECT_EQ(EscapeDnValue(std::string("a\0b", 3)), "a\\00b");
}

TEST_F(LdifExportTest, OneEntryPerAddressWithEachCertificate) {
  const std::string alice1 = Issue("Alice Example", "Alice@Bank.Example");
  const std::string alice2 = Issue("Alice Example", "alice@bank.example", {.for_encryption = true});
  // Two addresses: in the subjectAltName and the subject's emailAddress.
  const std::string both =
      Issue("Shared", "team@bank.example", {.subject_email_address = "alice@bank.example"});
  const std::string none = Issue("No Mail", "");
  ASSERT_OK_AND_ASSIGN(LdifExport exported,
                       ExportLdif({alice1, alice2, both, alice1, none}, kBase));
  EXPECT_EQ(exported.entries, 2u);
  EXPECT_EQ(exported.without_address, 1u);
  EXPECT_THAT(exported.ldif,
              StartsWith("dn: mail=alice@bank.example," + std::string(kBase) + "\n"));
  EXPECT_THAT(exported.ldif, HasSubstr("\ncn: Alice Example\nsn: Alice Example\n"
                                       "mail: alice@bank.example\nuserCertificate;binary:: "));
  EXPECT_THAT(exported.ldif, HasSubstr("dn: mail=team@bank.example," + std::string(kBase)));
  size_t certificates = 0;
  for (absl::string_view line : absl::StrSplit(exported.ldif, '\n')) {
    EXPECT_LE(line.size(), 76u) << line;
    if (absl::StartsWith(line, "userCertificate;binary:: ")) ++certificates;
  }
  EXPECT_EQ(certificates, 4u);  // alice: alice1, alice2, both; team: both
}

TEST_F(LdifExportTest, ValuesThatAreNotSafeStringsAreBase64) {
  const std::string der = Issue("J\xC3\xBCrgen", "juergen@bank.example");
  ASSERT_OK_AND_ASSIGN(LdifExport exported, ExportLdif({der}, kBase));
  // "Jürgen" in UTF-8, base64.
  EXPECT_THAT(exported.ldif, HasSubstr("\ncn:: SsO8cmdlbg==\nsn:: SsO8cmdlbg==\n"));
  ASSERT_OK_AND_ASSIGN(exported, ExportLdif({der}, "o=B\xC3\xA4nk"));
  EXPECT_THAT(exported.ldif, StartsWith("dn:: bWFpbD1qdWVyZ2VuQGJhbmsuZXhhbXBsZSxvPULDpG5r\n"));
}

TEST_F(LdifExportTest, RefusesGarbage) {
  EXPECT_THAT(ExportLdif({Issue("A", "a@bank.example"), "not DER"}, kBase),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("certificate 2 of 2")));
  EXPECT_THAT(ExportLdif({}, ""), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(LdifExport empty, ExportLdif({}, kBase));
  EXPECT_THAT(empty.ldif, IsEmpty());
}

// The round trip: the export loaded into a real slapd, with both tools an
// operator would use, and the certificates found through LdapSource.
TEST_F(LdifExportTest, LoadsIntoSlapdAndIsFoundThroughLdap) {
  const std::string alice1 = Issue("Alice Example", "alice@bank.example");
  const std::string alice2 = Issue("Alice Example", "alice@bank.example", {.for_encryption = true});
  const std::string odd = Issue("O'Neil", "o'neil+x=y@bank.example");
  const std::string hash = Issue("Hash", "#hash@bank.example");
  const std::vector<std::string> published = {alice1, alice2, odd, hash};
  // ldapadd below an existing ou=people, as on a running directory.
  ASSERT_OK_AND_ASSIGN(LdifExport below_people, ExportLdif(published, kBase));
  ASSERT_EQ(below_people.entries, 3u);
  ASSERT_OK_AND_ASSIGN(auto by_ldapadd,
                       Slapd::Start("dn: ou=people,dc=bank,dc=example\n"
                                    "objectClass: organizationalUnit\nou: people\n\n"));
  ASSERT_THAT(by_ldapadd->Add(below_people.ldif), IsOk());
  // slapadd right below the suffix, as when a directory is first loaded.
  ASSERT_OK_AND_ASSIGN(LdifExport below_suffix, ExportLdif(published, "dc=bank,dc=example"));
  ASSERT_OK_AND_ASSIGN(auto by_slapadd, Slapd::Start(below_suffix.ldif));
  for (const Slapd* slapd : {by_ldapadd.get(), by_slapadd.get()}) {
    LdapSourceOptions options;
    options.urls = {slapd->url()};
    options.base_dn = "dc=bank,dc=example";
    ASSERT_OK_AND_ASSIGN(auto source, LdapSource::Create(options));
    EXPECT_THAT(source->Find("alice@bank.example"),
                IsOkAndHolds(UnorderedElementsAre(Der(alice1), Der(alice2))));
    EXPECT_THAT(source->Find("o'neil+x=y@bank.example"), IsOkAndHolds(ElementsAre(Der(odd))));
    EXPECT_THAT(source->Find("#hash@bank.example"), IsOkAndHolds(ElementsAre(Der(hash))));
    EXPECT_THAT(source->Find("carol@bank.example"), IsOkAndHolds(IsEmpty()));
    EXPECT_EQ(source->counters().skipped_values, 0u);
  }
}

}  // namespace
}  // namespace signet::directory
