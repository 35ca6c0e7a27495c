#include "appliance/directory/smimea_source.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/free_port.h"
#include "tests/fixtures/nsd_server.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/subprocess.h"
#include "tests/fixtures/temp_dir.h"
#include "tests/fixtures/test_pki.h"

namespace signet::directory {
namespace {

using ::signet::fixtures::NsdServer;
using ::signet::fixtures::ZoneSigning;
using ::signet::fixtures::ZoneSpec;
using ::signet::matchers::IsOkAndHolds;
using ::signet::matchers::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// An SMIMEA record in RFC 3597 generic syntax, which every server reads.
std::string Record(const std::string& address, int usage, int selector, int matching,
                   const std::string& data) {
  const std::string rdata =
      absl::StrCat(std::string{static_cast<char>(usage), static_cast<char>(selector),
                               static_cast<char>(matching)},
                   data);
  return absl::StrCat(SmimeaOwnerName(address), " 3600 IN TYPE53 \\# ", rdata.size(), " ",
                      absl::BytesToHexString(rdata));
}

std::string Der(X509* certificate) {
  absl::StatusOr<std::string> der = fixtures::ToDer(certificate);
  EXPECT_TRUE(der.ok()) << der.status();
  return der.ok() ? *der : std::string();
}

class SmimeaSourceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<fixtures::TestCa> ca = fixtures::TestCa::Create();
    ASSERT_TRUE(ca.ok()) << ca.status();
    for (const char* who : {"alice", "bob", "bob-pkix"}) {
      absl::StatusOr<EvpPkeyPtr> key = fixtures::GenerateKey("EC:P-256");
      ASSERT_TRUE(key.ok()) << key.status();
      absl::StatusOr<X509Ptr> certificate =
          ca->Issue(key->get(), who, absl::StrCat(who, "@bank.example"),
                    fixtures::IssueOptions{.for_encryption = true});
      ASSERT_TRUE(certificate.ok()) << certificate.status();
      ders_->push_back(Der(certificate->get()));
    }
    const std::string& alice = (*ders_)[0];
    const std::string& bob = (*ders_)[1];
    const std::string& bob_pkix = (*ders_)[2];
    const std::string digest(32, '\x5a');

    const absl::Time start = absl::Now();
    absl::StatusOr<std::unique_ptr<NsdServer>> server = NsdServer::Start({
        ZoneSpec{.origin = "bank.example",
                 .records =
                     {
                         Record("alice@bank.example", 3, 0, 0, alice),
                         Record("bob@bank.example", 3, 0, 0, bob),
                         Record("bob@bank.example", 1, 0, 0, bob_pkix),
                         // Not a certificate: a key, a hash, a certificate
                         // followed by junk, junk.
                         Record("bob@bank.example", 3, 1, 0, "public key"),
                         Record("bob@bank.example", 3, 0, 1, digest),
                         Record("bob@bank.example", 3, 0, 0, alice + "x"),
                         Record("bob@bank.example", 3, 0, 0, "not DER"),
                         Record("carol@bank.example", 3, 1, 1, digest),
                     }},
        ZoneSpec{.origin = "plain.example",
                 .signing = ZoneSigning::kUnsigned,
                 .records = {Record("alice@plain.example", 3, 0, 0, alice)}},
        ZoneSpec{.origin = "tampered.example",
                 .signing = ZoneSigning::kTampered,
                 .records = {Record("alice@tampered.example", 3, 0, 0, alice)}},
        ZoneSpec{.origin = "expired.example",
                 .signing = ZoneSigning::kExpired,
                 .records = {Record("alice@expired.example", 3, 0, 0, alice)}},
    });
    ASSERT_TRUE(server.ok()) << server.status();
    std::cerr << "nsd with four zones (three signed) ready in "
              << absl::FormatDuration(absl::Now() - start) << "\n";
    server_ = server->release();
  }

  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    ders_->clear();
  }

  static SmimeaSourceOptions Options() {
    return SmimeaSourceOptions{.authoritative_server = server_->Address(),
                               .trust_anchor_file = server_->trust_anchor_file(),
                               .timeout = absl::Seconds(5)};
  }

  static std::unique_ptr<SmimeaSource> MakeSource(SmimeaSourceOptions options = Options()) {
    absl::StatusOr<std::unique_ptr<SmimeaSource>> source = SmimeaSource::Create(options);
    EXPECT_TRUE(source.ok()) << source.status();
    return source.ok() ? std::move(*source) : nullptr;
  }

  static inline NsdServer* server_ = nullptr;
  static inline std::vector<std::string>* const ders_ = new std::vector<std::string>;
};

TEST(SmimeaOwnerNameTest, MatchesRfc8162Example) {
  // RFC 8162 section 3's example.
  EXPECT_EQ(SmimeaOwnerName("hugh@example.com"),
            "c93f1e400f26708f98cb19d936620da35eec8f72e57f9eec01c1afd6._smimecert.example.com.");
}

TEST(SmimeaOwnerNameTest, MatchesSha256sum) {
  absl::StatusOr<fixtures::CommandResult> hash =
      fixtures::RunCommandOk({"sh", "-c", "printf %s 'first.last+tag' | sha256sum | cut -c1-56"});
  ASSERT_TRUE(hash.ok()) << hash.status();
  EXPECT_EQ(SmimeaOwnerName("first.last+tag@mail.bank.example"),
            absl::StrCat(absl::StripAsciiWhitespace(hash->out), "._smimecert.mail.bank.example."));
  EXPECT_EQ(SmimeaOwnerName("no-at-sign"), "");
}

TEST_F(SmimeaSourceTest, FindsCertificateInSignedZone) {
  auto source = MakeSource();
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->name(), "smimea");
  const absl::Time before = absl::Now();
  absl::StatusOr<std::vector<DirectoryCertificate>> found = source->Find("Alice@Bank.Example");
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_THAT(*found, SizeIs(1));
  EXPECT_EQ((*found)[0].der, (*ders_)[0]);
  EXPECT_EQ((*found)[0].source, "smimea");
  EXPECT_EQ((*found)[0].dane_usage, 3);
  EXPECT_GE((*found)[0].added, before);
  EXPECT_EQ(source->counters().secure, 1u);
}

TEST_F(SmimeaSourceTest, ReportsUsagesAndSkipsRecordsWithoutWholeCertificate) {
  auto source = MakeSource();
  ASSERT_NE(source, nullptr);
  absl::StatusOr<std::vector<DirectoryCertificate>> found = source->Find("bob@bank.example");
  ASSERT_TRUE(found.ok()) << found.status();
  // The order of an RRset is the server's; compare as a set.
  std::vector<std::pair<int, std::string>> got;
  for (const DirectoryCertificate& certificate : *found) {
    got.emplace_back(certificate.dane_usage, certificate.der);
  }
  std::sort(got.begin(), got.end());
  EXPECT_THAT(got, ElementsAre(std::make_pair(1, (*ders_)[2]), std::make_pair(3, (*ders_)[1])));

  EXPECT_THAT(source->Find("carol@bank.example"), IsOkAndHolds(IsEmpty()));
  EXPECT_EQ(source->counters().secure, 2u);
}

TEST_F(SmimeaSourceTest, FindsThroughForwarder) {
  SmimeaSourceOptions options = Options();
  options.authoritative_server.clear();
  options.forwarders = {"127.0.0.1@1", server_->Address()};
  auto source = MakeSource(options);
  ASSERT_NE(source, nullptr);
  absl::StatusOr<std::vector<DirectoryCertificate>> found = source->Find("alice@bank.example");
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_THAT(*found, SizeIs(1));
  EXPECT_EQ((*found)[0].der, (*ders_)[0]);
}

TEST_F(SmimeaSourceTest, NameOutsideServersZonesIsUnavailable) {
  auto source = MakeSource();
  ASSERT_NE(source, nullptr);
  // nsd answers REFUSED for a zone it does not serve.
  EXPECT_THAT(source->Find("alice@elsewhere.example"), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(SmimeaSourceTest, NxdomainAndNodataAreEmpty) {
  auto source = MakeSource();
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(source->Find("nobody@bank.example"), IsOkAndHolds(IsEmpty()));
  EXPECT_EQ(source->counters().nxdomain, 1u);
  // ns.bank.example exists, with an A record only.
  EXPECT_THAT(source->Find("x@ns.bank.example"), IsOkAndHolds(IsEmpty()));
  SmimeaCounters counters = source->counters();
  EXPECT_EQ(counters.nxdomain + counters.nodata, 2u);
  EXPECT_EQ(counters.secure + counters.insecure + counters.bogus + counters.unavailable, 0u);
}

TEST_F(SmimeaSourceTest, UnsignedZoneYieldsNothing) {
  auto source = MakeSource();
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(source->Find("alice@plain.example"), IsOkAndHolds(IsEmpty()));
  EXPECT_EQ(source->counters().insecure, 1u);
  EXPECT_EQ(source->counters().secure, 0u);
}

TEST_F(SmimeaSourceTest, TamperedRecordIsBogusAndYieldsNothing) {
  auto source = MakeSource();
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(source->Find("alice@tampered.example"), IsOkAndHolds(IsEmpty()));
  EXPECT_EQ(source->counters().bogus, 1u);
}

TEST_F(SmimeaSourceTest, ExpiredSignaturesAreBogusAndYieldNothing) {
  auto source = MakeSource();
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(source->Find("alice@expired.example"), IsOkAndHolds(IsEmpty()));
  EXPECT_EQ(source->counters().bogus, 1u);
}

TEST_F(SmimeaSourceTest, WrongTrustAnchorIsBogusAndYieldsNothing) {
  absl::StatusOr<fixtures::TempDir> dir = fixtures::TempDir::Create();
  ASSERT_TRUE(dir.ok()) << dir.status();
  const std::string anchor = dir->File("other.ds");
  ASSERT_TRUE(NsdServer::WriteUnrelatedTrustAnchor("bank.example", anchor).ok());
  SmimeaSourceOptions options = Options();
  options.trust_anchor_file = anchor;
  auto source = MakeSource(options);
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(source->Find("alice@bank.example"), IsOkAndHolds(IsEmpty()));
  EXPECT_EQ(source->counters().bogus, 1u);
}

TEST_F(SmimeaSourceTest, RefusesBadOptionsAndAddresses) {
  SmimeaSourceOptions options = Options();
  options.trust_anchor_file = "";
  EXPECT_THAT(SmimeaSource::Create(options), StatusIs(absl::StatusCode::kInvalidArgument));
  options.trust_anchor_file = "/nonexistent/anchors.ds";
  EXPECT_THAT(SmimeaSource::Create(options), StatusIs(absl::StatusCode::kInvalidArgument));

  absl::StatusOr<fixtures::TempDir> dir = fixtures::TempDir::Create();
  ASSERT_TRUE(dir.ok()) << dir.status();
  ASSERT_TRUE(fixtures::RunCommandOk(
                  {"sh", "-c", "echo 'not a DS record' > \"$0\"", dir->File("garbage.ds")})
                  .ok());
  options.trust_anchor_file = dir->File("garbage.ds");
  EXPECT_THAT(SmimeaSource::Create(options), StatusIs(absl::StatusCode::kInvalidArgument));

  options = Options();
  options.authoritative_server = "not an address";
  EXPECT_THAT(SmimeaSource::Create(options), StatusIs(absl::StatusCode::kInvalidArgument));

  auto source = MakeSource();
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(source->Find("no-at-sign"), StatusIs(absl::StatusCode::kInvalidArgument));
}

// A UDP port that receives queries and never answers them.
class BlackHole {
 public:
  BlackHole() {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      port_ = ntohs(address.sin_port);
    }
  }
  ~BlackHole() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST_F(SmimeaSourceTest, ServerThatNeverAnswersIsUnavailableAfterTimeout) {
  BlackHole hole;
  ASSERT_NE(hole.port(), 0);
  SmimeaSourceOptions options = Options();
  options.authoritative_server = absl::StrCat("127.0.0.1@", hole.port());
  options.timeout = absl::Milliseconds(700);
  auto source = MakeSource(options);
  ASSERT_NE(source, nullptr);
  const absl::Time start = absl::Now();
  EXPECT_THAT(source->Find("alice@bank.example"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_LT(absl::Now() - start, options.timeout + absl::Seconds(5));
  EXPECT_EQ(source->counters().unavailable, 1u);
  // The cancelled query does not disturb the next one.
  EXPECT_THAT(source->Find("bob@bank.example"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(source->counters().unavailable, 2u);
}

TEST_F(SmimeaSourceTest, ConcurrentTimeoutsAreEachUnavailable) {
  BlackHole hole;
  ASSERT_NE(hole.port(), 0);
  SmimeaSourceOptions options = Options();
  options.authoritative_server = absl::StrCat("127.0.0.1@", hole.port());
  options.timeout = absl::Milliseconds(300);
  auto source = MakeSource(options);
  ASSERT_NE(source, nullptr);
  constexpr int kThreads = 6;
  std::vector<absl::StatusCode> codes(kThreads, absl::StatusCode::kOk);
  std::vector<std::thread> threads;
  const absl::Time start = absl::Now();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      codes[t] = source->Find(absl::StrCat("user", t, "@bank.example")).status().code();
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(codes, ::testing::Each(absl::StatusCode::kUnavailable));
  EXPECT_LT(absl::Now() - start, options.timeout + absl::Seconds(5));
  EXPECT_EQ(source->counters().unavailable, static_cast<uint64_t>(kThreads));
  // The source is destroyed with the cancelled queries still in unbound.
}

TEST_F(SmimeaSourceTest, KilledServerIsUnavailable) {
  absl::StatusOr<std::unique_ptr<NsdServer>> server =
      NsdServer::Start({ZoneSpec{.origin = "gone.example", .signing = ZoneSigning::kUnsigned}});
  ASSERT_TRUE(server.ok()) << server.status();
  SmimeaSourceOptions options = Options();
  options.authoritative_server = (*server)->Address();
  options.timeout = absl::Seconds(1);
  auto source = MakeSource(options);
  ASSERT_NE(source, nullptr);
  // Answering before it goes: nothing is there (insecure NXDOMAIN).
  EXPECT_THAT(source->Find("alice@gone.example"), IsOkAndHolds(IsEmpty()));
  ASSERT_TRUE((*server)->Stop().ok());
  const absl::Time start = absl::Now();
  EXPECT_THAT(source->Find("bob@gone.example"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_LT(absl::Now() - start, options.timeout + absl::Seconds(5));
}

TEST_F(SmimeaSourceTest, ConcurrentFindsFromSeveralThreads) {
  auto source = MakeSource();
  ASSERT_NE(source, nullptr);
  constexpr int kThreads = 8;
  constexpr int kRounds = 25;
  std::vector<int> wrong(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        switch ((t + i) % 4) {
          case 0: {
            auto found = source->Find("alice@bank.example");
            if (!found.ok() || found->size() != 1 || (*found)[0].der != (*ders_)[0]) ++wrong[t];
            break;
          }
          case 1: {
            auto found = source->Find("bob@bank.example");
            if (!found.ok() || found->size() != 2) ++wrong[t];
            break;
          }
          case 2: {
            auto found = source->Find(absl::StrCat("nobody", t, "-", i, "@bank.example"));
            if (!found.ok() || !found->empty()) ++wrong[t];
            break;
          }
          default: {
            auto found = source->Find("alice@tampered.example");
            if (!found.ok() || !found->empty()) ++wrong[t];
            break;
          }
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(wrong, ::testing::Each(0));
  const SmimeaCounters counters = source->counters();
  EXPECT_EQ(counters.secure + counters.nxdomain + counters.bogus,
            static_cast<uint64_t>(kThreads * kRounds));
  EXPECT_EQ(counters.unavailable, 0u);
}

}  // namespace
}  // namespace signet::directory
