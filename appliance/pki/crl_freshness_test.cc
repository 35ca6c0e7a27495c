// Which CRL sources count as stale, how they are described in the log, and
// the health answer on a real store whose file goes stale and is replaced.
#include "appliance/pki/crl_freshness.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/temp_dir.h"
#include "tests/fixtures/test_pki.h"

namespace signet::pki {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

TEST(StaleSourcesTest, PastNextUpdateOrFailingLongerThanTheBound) {
  const absl::Time now = absl::FromUnixSeconds(1'900'000'000);
  const std::vector<CrlSourceState> sources = {
      {.source = "fresh", .this_update = now - absl::Hours(1), .next_update = now + absl::Hours(1)},
      {.source = "just expired",
       .this_update = now - absl::Hours(2),
       .next_update = now - absl::Minutes(5)},
      {.source = "long expired",
       .this_update = now - absl::Hours(30),
       .next_update = now - absl::Hours(6)},
      // A held CRL still valid while its point fails: not stale yet.
      {.source = "failing but valid",
       .this_update = now - absl::Hours(1),
       .next_update = now + absl::Hours(1),
       .failing_since = now - absl::Hours(5)},
      {.source = "never answered", .failing_since = now - absl::Hours(2)},
      {.source = "never answered, recent", .failing_since = now - absl::Minutes(1)},
      {.source = "no nextUpdate", .this_update = now - absl::Hours(100)},
  };
  EXPECT_THAT(StaleSources(sources, now, absl::Hours(1)),
              ElementsAre(Field(&CrlSourceState::source, "long expired"),
                          Field(&CrlSourceState::source, "never answered")));
  EXPECT_THAT(StaleSources(sources, now, absl::Hours(24)), IsEmpty());
}

TEST(DescribeStaleTest, SaysWhatIsStaleAndForHowLong) {
  const absl::Time now = absl::FromUnixSeconds(1'900'000'000);
  EXPECT_EQ(
      DescribeStale({.source = "http://crl.bank.example/ca.crl",
                     .this_update = now - absl::Hours(26),
                     .next_update = now - absl::Hours(2),
                     .failing_since = now - absl::Hours(3),
                     .failure = "connection refused"},
                    now),
      absl::StrCat("http://crl.bank.example/ca.crl: CRL past its nextUpdate by 2h (thisUpdate ",
                   absl::FormatTime(absl::RFC3339_sec, now - absl::Hours(26), absl::UTCTimeZone()),
                   "); fetching fails: connection refused"));
  EXPECT_EQ(DescribeStale({.source = "http://crl.bank.example/ca.crl",
                           .failing_since = now - absl::Minutes(65),
                           .failure = "connection refused"},
                          now),
            "http://crl.bank.example/ca.crl: no CRL, failing for 1h5m (connection refused)");
}

TEST(CrlFreshnessTest, AStaleFileTurnsItUnhealthyUntilItIsReplaced) {
  ASSERT_OK_AND_ASSIGN(fixtures::TestCa ca, fixtures::TestCa::Create("Signet Freshness Test CA"));
  ASSERT_OK_AND_ASSIGN(fixtures::TempDir dir, fixtures::TempDir::Create("signet-crl-freshness"));
  ASSERT_OK_AND_ASSIGN(X509CrlPtr expired, ca.MakeCrl({.this_update_offset = -absl::Hours(48),
                                                       .validity = absl::Hours(24)}));
  ASSERT_OK_AND_ASSIGN(std::string expired_der, fixtures::ToDer(expired.get()));
  const std::string path = dir.path() + "/ca.crl";
  std::ofstream(path, std::ios::binary) << expired_der;
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<CrlStore> store,
                       CrlStore::Create({.files = {path}, .fetch = false}));

  std::vector<std::pair<LogLevel, std::string>> logged;
  LogSink previous = SetLogSink([&](LogLevel level, absl::string_view line) {
    logged.emplace_back(level, std::string(line));
  });
  CrlFreshness freshness(store, absl::Hours(1));
  EXPECT_FALSE(freshness.Fresh());
  EXPECT_FALSE(freshness.Fresh());
  ASSERT_THAT(logged, SizeIs(1)) << "logged once per change";
  EXPECT_EQ(logged[0].first, LogLevel::kWarning);
  EXPECT_THAT(logged[0].second,
              AllOf(HasSubstr(absl::StrCat("file ", path)), HasSubstr("past its nextUpdate"),
                    HasSubstr("signet.revocation")));
  // Within a longer bound it is not stale yet.
  EXPECT_TRUE(CrlFreshness(store, absl::Hours(48)).Fresh());

  ASSERT_OK_AND_ASSIGN(X509CrlPtr current, ca.MakeCrl({.crl_number = 2}));
  ASSERT_OK_AND_ASSIGN(std::string current_der, fixtures::ToDer(current.get()));
  std::ofstream(path, std::ios::binary | std::ios::trunc) << current_der;
  store->RefreshDue();
  EXPECT_TRUE(freshness.Fresh());
  SetLogSink(std::move(previous));
  ASSERT_THAT(logged, SizeIs(2));
  EXPECT_EQ(logged[1].first, LogLevel::kInfo);
  EXPECT_THAT(logged[1].second, HasSubstr("current again"));
}

}  // namespace
}  // namespace signet::pki
