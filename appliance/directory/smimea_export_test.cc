#include "appliance/directory/smimea_export.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "appliance/directory/smimea_source.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/nsd_server.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/test_pki.h"

namespace signet::directory {
namespace {

using ::signet::matchers::StatusIs;
using ::testing::ElementsAre;
using ::testing::SizeIs;

class SmimeaExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<fixtures::TestCa> ca = fixtures::TestCa::Create();
    ASSERT_TRUE(ca.ok()) << ca.status();
    for (const char* who : {"payments", "treasury"}) {
      absl::StatusOr<EvpPkeyPtr> key = fixtures::GenerateKey("EC:P-256");
      ASSERT_TRUE(key.ok()) << key.status();
      absl::StatusOr<X509Ptr> certificate =
          ca->Issue(key->get(), who, absl::StrCat(who, "@bank.example"),
                    fixtures::IssueOptions{.for_encryption = true});
      ASSERT_TRUE(certificate.ok()) << certificate.status();
      absl::StatusOr<std::string> der = fixtures::ToDer(certificate->get());
      ASSERT_TRUE(der.ok()) << der.status();
      ders_.push_back(*der);
    }
  }

  std::vector<std::string> ders_;
};

TEST_F(SmimeaExportTest, WritesMnemonicRecordWithDaneEeByDefault) {
  absl::StatusOr<std::string> line =
      SmimeaZoneRecord({.address = "Payments@Bank.Example", .der = ders_[0]});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(*line, absl::StrCat(SmimeaOwnerName("payments@bank.example"), " 3600 IN SMIMEA 3 0 0 ",
                                absl::AsciiStrToUpper(absl::BytesToHexString(ders_[0])), "\n"));
}

TEST_F(SmimeaExportTest, WritesGenericSyntaxAndPkixEe) {
  absl::StatusOr<std::string> line =
      SmimeaZoneRecord({.address = "treasury@bank.example", .der = ders_[1]},
                       {.usage = 1, .ttl = 300, .generic_syntax = true});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(*line,
            absl::StrCat(SmimeaOwnerName("treasury@bank.example"), " 300 IN TYPE53 \\# ",
                         ders_[1].size() + 3, " 010000", absl::BytesToHexString(ders_[1]), "\n"));
}

TEST_F(SmimeaExportTest, RefusesWhatCannotBePublished) {
  EXPECT_THAT(SmimeaZoneRecord({.address = "payments@bank.example", .der = ders_[0]}, {.usage = 2}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(SmimeaZoneRecord({.address = "payments@bank.example", .der = ders_[0]}, {.usage = 0}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(SmimeaZoneRecord({.address = "payments@bank.example", .der = ders_[0] + "x"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(SmimeaZoneRecord({.address = "payments@bank.example", .der = "not DER"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(SmimeaZoneRecord({.address = "payments", .der = ders_[0]}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(SmimeaZoneRecords({{.address = "payments@bank.example", .der = ders_[0]},
                                 {.address = "bad address", .der = ders_[1]}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(SmimeaExportTest, ExportedRecordsAreFoundThroughSignedZone) {
  absl::StatusOr<std::string> dane_ee =
      SmimeaZoneRecords({{.address = "payments@bank.example", .der = ders_[0]},
                         {.address = "treasury@bank.example", .der = ders_[1]}});
  ASSERT_TRUE(dane_ee.ok()) << dane_ee.status();
  absl::StatusOr<std::string> pkix_ee =
      SmimeaZoneRecords({{.address = "treasury@bank.example", .der = ders_[1]}},
                        {.usage = 1, .generic_syntax = true});
  ASSERT_TRUE(pkix_ee.ok()) << pkix_ee.status();
  std::vector<std::string> records =
      absl::StrSplit(absl::StrCat(*dane_ee, *pkix_ee), '\n', absl::SkipEmpty());
  ASSERT_THAT(records, SizeIs(3));

  absl::StatusOr<std::unique_ptr<fixtures::NsdServer>> server = fixtures::NsdServer::Start(
      {fixtures::ZoneSpec{.origin = "bank.example", .records = records}});
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<std::unique_ptr<SmimeaSource>> source =
      SmimeaSource::Create({.authoritative_server = (*server)->Address(),
                            .trust_anchor_file = (*server)->trust_anchor_file()});
  ASSERT_TRUE(source.ok()) << source.status();

  absl::StatusOr<std::vector<DirectoryCertificate>> payments =
      (*source)->Find("payments@bank.example");
  ASSERT_TRUE(payments.ok()) << payments.status();
  ASSERT_THAT(*payments, SizeIs(1));
  EXPECT_EQ((*payments)[0].der, ders_[0]);
  EXPECT_EQ((*payments)[0].dane_usage, 3);

  absl::StatusOr<std::vector<DirectoryCertificate>> treasury =
      (*source)->Find("treasury@bank.example");
  ASSERT_TRUE(treasury.ok()) << treasury.status();
  std::vector<std::pair<int, std::string>> got;
  for (const DirectoryCertificate& certificate : *treasury) {
    got.emplace_back(certificate.dane_usage, certificate.der);
  }
  std::sort(got.begin(), got.end());
  EXPECT_THAT(got, ElementsAre(std::make_pair(1, ders_[1]), std::make_pair(3, ders_[1])));
  EXPECT_EQ((*source)->counters().secure, 2u);
}

}  // namespace
}  // namespace signet::directory
