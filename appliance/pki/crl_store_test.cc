// Where CRLs come from: files and a directory (and their changes), and the
// certificates' HTTP distribution points with their cache, counted at a
// loopback server.
#include "appliance/pki/crl_store.h"

#include <sys/stat.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/http_server.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/temp_dir.h"
#include "tests/fixtures/test_pki.h"

namespace signet::pki {
namespace {

using ::signet::matchers::IsOk;
using ::signet::matchers::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

class CrlStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(ca_, fixtures::TestCa::Create("Signet CRL Test CA"));
    ASSERT_OK_AND_ASSIGN(server_, fixtures::HttpServer::Start());
    ASSERT_OK_AND_ASSIGN(EvpPkeyPtr key, fixtures::GenerateKey("EC:P-256"));
    ASSERT_OK_AND_ASSIGN(
        certificate_,
        ca_->Issue(key.get(), "Holder", "holder@bank.example",
                   {.crl_distribution_points = {server_->Url("/ca.crl"), "ldap://x/cn=CA"}}));
    ASSERT_OK_AND_ASSIGN(X509CrlPtr crl, ca_->MakeCrl());
    ASSERT_OK_AND_ASSIGN(crl_der_, fixtures::ToDer(crl.get()));
    ASSERT_OK_AND_ASSIGN(crl_pem_, fixtures::ToPem(crl.get()));
    ASSERT_OK_AND_ASSIGN(dir_, fixtures::TempDir::Create("signet-crl-store"));
  }

  std::vector<SourcedCrl> Lookup(CrlStore& store) {
    return store.CrlsFor(certificate_.get(), X509_get_issuer_name(certificate_.get()));
  }

  std::optional<fixtures::TestCa> ca_;
  std::unique_ptr<fixtures::HttpServer> server_;
  X509Ptr certificate_;
  std::string crl_der_;
  std::string crl_pem_;
  std::optional<fixtures::TempDir> dir_;
};

TEST_F(CrlStoreTest, HttpDistributionPointsAreTheHttpUrlsInOrder) {
  EXPECT_THAT(HttpDistributionPoints(certificate_.get()), ElementsAre(server_->Url("/ca.crl")));
}

TEST_F(CrlStoreTest, ConfiguredFilesMustExistAndBeCrls) {
  const std::string pem = dir_->path() + "/ca.pem.crl";
  const std::string der = dir_->path() + "/ca.der.crl";
  WriteFile(pem, crl_pem_);
  WriteFile(der, crl_der_);
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<CrlStore> store,
                       CrlStore::Create({.files = {pem, der}, .fetch = false}));
  EXPECT_THAT(Lookup(*store), SizeIs(2));

  EXPECT_THAT(CrlStore::Create({.files = {dir_->path() + "/none.crl"}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("does not exist")));
  const std::string text = dir_->path() + "/text.crl";
  WriteFile(text, "not a CRL");
  EXPECT_THAT(CrlStore::Create({.files = {text}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is not a CRL")));
  EXPECT_THAT(CrlStore::Create({.directory = dir_->path() + "/missing"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(CrlStoreTest, ADirectoryIsReadAgainWhenItChanges) {
  const std::string crls = dir_->path() + "/crls";
  ASSERT_EQ(mkdir(crls.c_str(), 0700), 0);
  WriteFile(crls + "/junk.txt", "a note an operator left");
  ASSERT_OK_AND_ASSIGN(
      std::shared_ptr<CrlStore> store,
      CrlStore::Create(
          {.directory = crls, .fetch = false, .reload_interval = absl::ZeroDuration()}));
  EXPECT_THAT(Lookup(*store), IsEmpty());

  WriteFile(crls + "/ca.crl", crl_der_);
  std::vector<SourcedCrl> found = Lookup(*store);
  ASSERT_THAT(found, SizeIs(1));
  EXPECT_EQ(found[0].source, absl::StrCat("file ", crls, "/ca.crl"));

  // A half-written replacement keeps the previous CRL until it is whole.
  WriteFile(crls + "/ca.crl", crl_der_.substr(0, crl_der_.size() / 2));
  EXPECT_THAT(Lookup(*store), SizeIs(1));
  ASSERT_EQ(unlink((crls + "/ca.crl").c_str()), 0);
  EXPECT_THAT(Lookup(*store), IsEmpty());
  EXPECT_GE(store->counters().file_reloads, 3u);
}

TEST_F(CrlStoreTest, ADistributionPointIsFetchedOnceAndCachedUntilNextUpdate) {
  server_->Serve("/ca.crl", crl_der_, "application/pkix-crl");
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<CrlStore> store, CrlStore::Create({}));
  std::vector<SourcedCrl> first = Lookup(*store);
  ASSERT_THAT(first, SizeIs(1));
  EXPECT_EQ(first[0].source, server_->Url("/ca.crl"));
  EXPECT_THAT(Lookup(*store), SizeIs(1));
  EXPECT_EQ(server_->Requests("/ca.crl"), 1);
  EXPECT_EQ(store->counters().fetches, 1u);
  EXPECT_EQ(store->counters().cache_hits, 1u);
  EXPECT_EQ(store->SourceAges().count(server_->Url("/ca.crl")), 1u);
}

TEST_F(CrlStoreTest, AFailedPointIsNotAskedAgainAtOnce) {
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<CrlStore> store,
                       CrlStore::Create({.retry_after_failure = absl::Hours(1)}));
  EXPECT_THAT(Lookup(*store), IsEmpty());
  EXPECT_THAT(Lookup(*store), IsEmpty());
  EXPECT_EQ(server_->Requests("/ca.crl"), 1);
  EXPECT_EQ(store->counters().fetch_failures, 1u);

  ASSERT_OK_AND_ASSIGN(std::shared_ptr<CrlStore> retrying,
                       CrlStore::Create({.retry_after_failure = absl::ZeroDuration()}));
  EXPECT_THAT(Lookup(*retrying), IsEmpty());
  server_->Serve("/ca.crl", crl_der_);
  EXPECT_THAT(Lookup(*retrying), SizeIs(1));
}

TEST_F(CrlStoreTest, AnExpiredCrlIsFetchedAgainAfterThePause) {
  ASSERT_OK_AND_ASSIGN(X509CrlPtr expired, ca_->MakeCrl({.this_update_offset = -absl::Hours(48),
                                                         .validity = absl::Hours(24)}));
  ASSERT_OK_AND_ASSIGN(std::string expired_der, fixtures::ToDer(expired.get()));
  server_->Serve("/ca.crl", expired_der);
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<CrlStore> store,
                       CrlStore::Create({.retry_after_failure = absl::ZeroDuration()}));
  // Still offered: OpenSSL reports it as expired, and what it lists stays
  // revoked.
  EXPECT_THAT(Lookup(*store), SizeIs(1));
  server_->Serve("/ca.crl", crl_der_);
  EXPECT_THAT(Lookup(*store), SizeIs(1));
  EXPECT_EQ(server_->Requests("/ca.crl"), 2);
}

TEST_F(CrlStoreTest, OfflineFetchesNothing) {
  server_->Serve("/ca.crl", crl_der_);
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<CrlStore> store, CrlStore::Create({.fetch = false}));
  EXPECT_THAT(Lookup(*store), IsEmpty());
  EXPECT_EQ(server_->Requests("/ca.crl"), 0);
}

TEST_F(CrlStoreTest, TheCacheKeepsAtMostItsLimit) {
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<CrlStore> store, CrlStore::Create({.max_cached_crls = 1}));
  ASSERT_OK_AND_ASSIGN(EvpPkeyPtr key, fixtures::GenerateKey("EC:P-256"));
  ASSERT_OK_AND_ASSIGN(X509Ptr other,
                       ca_->Issue(key.get(), "Other", "",
                                  {.crl_distribution_points = {server_->Url("/other.crl")}}));
  server_->Serve("/ca.crl", crl_der_);
  server_->Serve("/other.crl", crl_der_);
  EXPECT_THAT(Lookup(*store), SizeIs(1));
  EXPECT_THAT(store->CrlsFor(other.get(), X509_get_issuer_name(other.get())), SizeIs(1));
  // The first was evicted: asked again.
  EXPECT_THAT(Lookup(*store), SizeIs(1));
  EXPECT_EQ(server_->Requests("/ca.crl"), 2);
}

}  // namespace
}  // namespace signet::pki
