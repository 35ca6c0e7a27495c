#include "common/pem_certificates.h"

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/temp_dir.h"
#include "tests/fixtures/test_pki.h"

namespace signet {
namespace {

using ::signet::matchers::StatusIs;
using ::testing::HasSubstr;
using ::testing::SizeIs;

class PemCertificatesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(fixtures::TestCa first, fixtures::TestCa::Create("First"));
    ASSERT_OK_AND_ASSIGN(fixtures::TestCa second, fixtures::TestCa::Create("Second"));
    ASSERT_OK_AND_ASSIGN(first_, fixtures::ToPem(first.certificate()));
    ASSERT_OK_AND_ASSIGN(second_, fixtures::ToPem(second.certificate()));
    ASSERT_OK_AND_ASSIGN(X509CrlPtr crl, first.MakeCrl());
    ASSERT_OK_AND_ASSIGN(crl_, fixtures::ToPem(crl.get()));
  }

  std::string first_;
  std::string second_;
  std::string crl_;
};

TEST_F(PemCertificatesTest, ReadsEveryCertificateInOrderPassingOverOtherBlocks) {
  ASSERT_OK_AND_ASSIGN(std::vector<X509Ptr> certificates,
                       ParsePemCertificates("comment\n" + first_ + crl_ + second_));
  ASSERT_THAT(certificates, SizeIs(2));
  char name[64];
  X509_NAME_get_text_by_NID(X509_get_subject_name(certificates[1].get()), NID_commonName, name,
                            sizeof(name));
  EXPECT_STREQ(name, "Second");
}

TEST_F(PemCertificatesTest, ABrokenCertificateOrNoneIsRefused) {
  // A line of base64 left out: the DER inside ends before its length says.
  std::string broken = second_;
  const size_t line = broken.find('\n', broken.find('\n') + 1) + 1;
  broken.erase(line, broken.find('\n', line) + 1 - line);
  EXPECT_THAT(ParsePemCertificates(first_ + broken),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("does not parse")));
  EXPECT_THAT(ParsePemCertificates(crl_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no certificate")));
}

TEST_F(PemCertificatesTest, AFilesErrorsNameIt) {
  ASSERT_OK_AND_ASSIGN(fixtures::TempDir dir, fixtures::TempDir::Create("signet-pem"));
  const std::string path = dir.path() + "/certs.pem";
  std::ofstream(path) << first_ << second_;
  ASSERT_OK_AND_ASSIGN(std::vector<X509Ptr> certificates, ReadPemCertificates(path));
  EXPECT_THAT(certificates, SizeIs(2));
  std::ofstream(path, std::ios::trunc) << crl_;
  EXPECT_THAT(ReadPemCertificates(path),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(path + ": no certificate")));
  EXPECT_THAT(ReadPemCertificates(dir.path() + "/missing.pem"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing.pem")));
}

}  // namespace
}  // namespace signet
