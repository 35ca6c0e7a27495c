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
using ::testing::Not;
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
  std::vector<CrlSourceState> sources = store->Sources();
  ASSERT_THAT(sources, SizeIs(1));
  EXPECT_EQ(sources[0].source, server_->Url("/ca.crl"));
  EXPECT_TRUE(sources[0].this_update.has_value());
  EXPECT_TRUE(sources[0].next_update.has_value());
  EXPECT_FALSE(sources[0].failing_since.has_value());
}

TEST_F(CrlStoreTest, AFailedPointIsNotAskedAgainAtOnce) {
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<CrlStore> store,
                       CrlStore::Create({.retry_after_failure = absl::Hours(1)}));
  EXPECT_THAT(Lookup(*store), IsEmpty());
  EXPECT_THAT(Lookup(*store), IsEmpty());
  EXPECT_EQ(server_->Requests("/ca.crl"), 1);
  EXPECT_EQ(store->counters().fetch_failures, 1u);
  std::vector<CrlSourceState> sources = store->Sources();
  ASSERT_THAT(sources, SizeIs(1));
  EXPECT_FALSE(sources[0].this_update.has_value());
  EXPECT_TRUE(sources[0].failing_since.has_value());
  EXPECT_THAT(sources[0].failure, Not(IsEmpty()));

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

// A CRL most of whose lifetime has passed: still valid, due for a refresh.
TEST_F(CrlStoreTest, RefreshDueFetchesACrlInUseAheadOfItsNextUpdate) {
  ASSERT_OK_AND_ASSIGN(X509CrlPtr aging, ca_->MakeCrl({.this_update_offset = -absl::Hours(9),
                                                       .validity = absl::Hours(10)}));
  ASSERT_OK_AND_ASSIGN(std::string aging_der, fixtures::ToDer(aging.get()));
  server_->Serve("/ca.crl", aging_der);
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<CrlStore> store, CrlStore::Create({}));
  ASSERT_THAT(Lookup(*store), SizeIs(1));
  EXPECT_EQ(store->RefreshDue(), 1);
  EXPECT_EQ(store->RefreshDue(), 0) << "nobody used it since the refresher fetched it";
  EXPECT_EQ(server_->Requests("/ca.crl"), 2);

  ASSERT_THAT(Lookup(*store), SizeIs(1));  // from the cache
  EXPECT_EQ(server_->Requests("/ca.crl"), 2);
  ASSERT_OK_AND_ASSIGN(X509CrlPtr next, ca_->MakeCrl({.crl_number = 2}));
  ASSERT_OK_AND_ASSIGN(std::string next_der, fixtures::ToDer(next.get()));
  server_->Serve("/ca.crl", next_der);
  EXPECT_EQ(store->RefreshDue(), 1);
  EXPECT_EQ(server_->Requests("/ca.crl"), 3);

  // Callers get the new CRL from the cache, and a fresh CRL is not due.
  std::vector<SourcedCrl> found = Lookup(*store);
  ASSERT_THAT(found, SizeIs(1));
  ASSERT_OK_AND_ASSIGN(std::string found_der, fixtures::ToDer(found[0].crl.get()));
  EXPECT_EQ(found_der, next_der);
  EXPECT_EQ(store->RefreshDue(), 0);
  EXPECT_EQ(server_->Requests("/ca.crl"), 3);
}

TEST_F(CrlStoreTest, RefreshDueRetriesAFailedPointSoTheNextCallerFindsItCached) {
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<CrlStore> store,
                       CrlStore::Create({.retry_after_failure = absl::ZeroDuration()}));
  EXPECT_THAT(Lookup(*store), IsEmpty());
  server_->Serve("/ca.crl", crl_der_);
  EXPECT_EQ(store->RefreshDue(), 1);
  EXPECT_EQ(server_->Requests("/ca.crl"), 2);
  EXPECT_THAT(Lookup(*store), SizeIs(1));
  EXPECT_EQ(server_->Requests("/ca.crl"), 2);
  EXPECT_FALSE(store->Sources()[0].failing_since.has_value());
}

TEST_F(CrlStoreTest, RefreshDueKeepsTheHeldCrlWhenTheFetchFails) {
  ASSERT_OK_AND_ASSIGN(X509CrlPtr aging, ca_->MakeCrl({.this_update_offset = -absl::Hours(9),
                                                       .validity = absl::Hours(10)}));
  ASSERT_OK_AND_ASSIGN(std::string aging_der, fixtures::ToDer(aging.get()));
  server_->Serve("/ca.crl", aging_der);
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<CrlStore> store,
                       CrlStore::Create({.retry_after_failure = absl::Hours(1)}));
  ASSERT_THAT(Lookup(*store), SizeIs(1));
  ASSERT_THAT(Lookup(*store), SizeIs(1));
  server_->Serve("/ca.crl", "gone", "text/plain", 404);
  EXPECT_EQ(store->RefreshDue(), 1);
  EXPECT_THAT(Lookup(*store), SizeIs(1));
  EXPECT_EQ(server_->Requests("/ca.crl"), 2);
  // Within the failure pause the refresher does not ask again.
  EXPECT_EQ(store->RefreshDue(), 0);
  std::vector<CrlSourceState> sources = store->Sources();
  ASSERT_THAT(sources, SizeIs(1));
  EXPECT_TRUE(sources[0].this_update.has_value());
  EXPECT_TRUE(sources[0].failing_since.has_value());
}

TEST_F(CrlStoreTest, RefreshDueReadsChangedFilesWithoutACaller) {
  const std::string crls = dir_->path() + "/crls";
  ASSERT_EQ(mkdir(crls.c_str(), 0700), 0);
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<CrlStore> store,
                       CrlStore::Create({.directory = crls, .fetch = false}));
  EXPECT_THAT(store->Sources(), IsEmpty());
  WriteFile(crls + "/ca.crl", crl_der_);
  EXPECT_EQ(store->RefreshDue(), 0);
  std::vector<CrlSourceState> sources = store->Sources();
  ASSERT_THAT(sources, SizeIs(1));
  EXPECT_EQ(sources[0].source, absl::StrCat("file ", crls, "/ca.crl"));
  EXPECT_TRUE(sources[0].next_update.has_value());
}

}  // namespace
}  // namespace signet::pki
