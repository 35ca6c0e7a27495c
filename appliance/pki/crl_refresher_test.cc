// The background refresher's thread.
#include "appliance/pki/crl_refresher.h"

#include <chrono>
#include <thread>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/http_server.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/test_pki.h"

namespace signet::pki {
namespace {

TEST(CrlRefresherTest, TheThreadRefreshesWhatCallersUse) {
  ASSERT_OK_AND_ASSIGN(fixtures::TestCa ca, fixtures::TestCa::Create("Signet Refresher Test CA"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<fixtures::HttpServer> server, fixtures::HttpServer::Start());
  ASSERT_OK_AND_ASSIGN(EvpPkeyPtr key, fixtures::GenerateKey("EC:P-256"));
  ASSERT_OK_AND_ASSIGN(
      X509Ptr certificate,
      ca.Issue(key.get(), "Holder", "", {.crl_distribution_points = {server->Url("/ca.crl")}}));
  // Most of its lifetime gone: due at once.
  ASSERT_OK_AND_ASSIGN(X509CrlPtr crl, ca.MakeCrl({.this_update_offset = -absl::Hours(9),
                                                   .validity = absl::Hours(10)}));
  ASSERT_OK_AND_ASSIGN(std::string der, fixtures::ToDer(crl.get()));
  server->Serve("/ca.crl", der);
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<CrlStore> store, CrlStore::Create({}));
  auto lookup = [&] {
    return store->CrlsFor(certificate.get(), X509_get_issuer_name(certificate.get())).size();
  };
  ASSERT_EQ(lookup(), 1u);
  ASSERT_EQ(lookup(), 1u);
  ASSERT_EQ(server->Requests("/ca.crl"), 1);

  CrlRefresher refresher(store, absl::Milliseconds(10));
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  // The round is counted once its fetch has returned, a moment after the
  // server has seen the request: wait for both.
  while ((server->Requests("/ca.crl") < 2 || refresher.rounds() < 1) && absl::Now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(server->Requests("/ca.crl"), 2);
  EXPECT_GE(refresher.rounds(), 1);
}

TEST(CrlRefresherTest, StoppingDoesNotWaitForTheInterval) {
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<CrlStore> store, CrlStore::Create({.fetch = false}));
  // The destructor would block for an hour if it waited: the test's own
  // timeout catches that.
  {
    CrlRefresher refresher(store, absl::Hours(1));
    EXPECT_EQ(refresher.rounds(), 0);
  }
}

}  // namespace
}  // namespace signet::pki
