#include "appliance/directory/ldap_source.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/ossl_ptr.h"
#include "tests/fixtures/slapd.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/temp_dir.h"
#include "tests/fixtures/test_pki.h"

namespace signet::directory {
namespace {

using ::signet::fixtures::Slapd;
using ::signet::matchers::IsOk;
using ::signet::matchers::IsOkAndHolds;
using ::signet::matchers::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;

constexpr char kBase[] = "dc=bank,dc=example";

std::string Base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// An LDIF entry cn=<cn>,<base> with the given mail and values, each
// base64-encoded (attribute names with options as given).
struct Entry {
  std::string cn;
  std::string mail;
  std::vector<std::pair<std::string, std::string>> values;
};

std::string Ldif(const std::vector<Entry>& entries) {
  std::string ldif;
  for (const Entry& entry : entries) {
    absl::StrAppend(&ldif, "dn: cn=", entry.cn, ",", kBase,
                    "\nobjectClass: inetOrgPerson\ncn: ", entry.cn, "\nsn: ", entry.cn, "\n");
    if (!entry.mail.empty()) absl::StrAppend(&ldif, "mail: ", entry.mail, "\n");
    for (const auto& [attribute, value] : entry.values) {
      absl::StrAppend(&ldif, attribute, ":: ", Base64(value), "\n");
    }
    ldif += "\n";
  }
  return ldif;
}

std::string CertsOnly(const std::vector<X509*>& certificates) {
  Pkcs7Ptr pkcs7(PKCS7_new());
  EXPECT_EQ(PKCS7_set_type(pkcs7.get(), NID_pkcs7_signed), 1);
  EXPECT_EQ(PKCS7_content_new(pkcs7.get(), NID_pkcs7_data), 1);
  for (X509* certificate : certificates) {
    EXPECT_EQ(PKCS7_add_certificate(pkcs7.get(), certificate), 1);
  }
  unsigned char* der = nullptr;
  const int length = i2d_PKCS7(pkcs7.get(), &der);
  EXPECT_GT(length, 0);
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  return out;
}

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n));
  return out;
}

// A TCP port that completes handshakes (the kernel's backlog) and never
// reads a byte: a server that hangs.
class SilentListener {
 public:
  SilentListener() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    EXPECT_EQ(listen(fd_, 16), 0);
    EXPECT_EQ(getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length), 0);
    port_ = ntohs(address.sin_port);
  }
  ~SilentListener() { close(fd_); }
  std::string url() const { return absl::StrCat("ldap://127.0.0.1:", port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

class LdapSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(ca_, fixtures::TestCa::Create());
    ASSERT_OK_AND_ASSIGN(auto key, fixtures::GenerateKey("EC:P-256"));
    ASSERT_OK_AND_ASSIGN(alice_, ca_->Issue(key.get(), "Alice", "alice@bank.example"));
    ASSERT_OK_AND_ASSIGN(alice_der_, fixtures::ToDer(alice_.get()));
    ASSERT_OK_AND_ASSIGN(
        alice2_, ca_->Issue(key.get(), "Alice", "alice@bank.example", {.for_encryption = true}));
    ASSERT_OK_AND_ASSIGN(alice2_der_, fixtures::ToDer(alice2_.get()));
    ASSERT_OK_AND_ASSIGN(bob_, ca_->Issue(key.get(), "Bob", "bob@bank.example"));
    ASSERT_OK_AND_ASSIGN(bob_der_, fixtures::ToDer(bob_.get()));
  }

  // Alice with one certificate, Bob with one.
  std::string People() const {
    return Ldif({{"alice", "Alice@Bank.Example", {{"userCertificate;binary", alice_der_}}},
                 {"bob", "bob@bank.example", {{"userCertificate;binary", bob_der_}}}});
  }

  static LdapSourceOptions Options(std::vector<std::string> urls) {
    LdapSourceOptions options;
    options.urls = std::move(urls);
    options.base_dn = kBase;
    options.timeout = absl::Seconds(2);
    return options;
  }

  std::optional<fixtures::TestCa> ca_;
  X509Ptr alice_, alice2_, bob_;
  std::string alice_der_, alice2_der_, bob_der_;
};

auto Der(const std::string& der) { return Field(&DirectoryCertificate::der, der); }

TEST_F(LdapSourceTest, FindsUserCertificateByAddressIgnoringCase) {
  ASSERT_OK_AND_ASSIGN(auto slapd, Slapd::Start(People()));
  ASSERT_OK_AND_ASSIGN(auto source, LdapSource::Create(Options({slapd->url()})));
  EXPECT_EQ(source->name(), "ldap");
  ASSERT_OK_AND_ASSIGN(auto found, source->Find("alice@bank.example"));
  ASSERT_THAT(found, ElementsAre(Der(alice_der_)));
  EXPECT_EQ(found[0].source, "ldap " + slapd->url());
  EXPECT_GT(found[0].added, absl::Now() - absl::Minutes(1));
  EXPECT_THAT(source->Find("ALICE@bank.EXAMPLE"), IsOkAndHolds(ElementsAre(Der(alice_der_))));
  EXPECT_THAT(source->Find("carol@bank.example"), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(source->Find("not an address"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(LdapSourceTest, FindsTheCertificatesOfAUserSmimeCertificateBundle) {
  ASSERT_OK_AND_ASSIGN(
      auto slapd,
      Slapd::Start(Ldif({{"alice",
                          "alice@bank.example",
                          {{"userSMIMECertificate", CertsOnly({alice_.get(), alice2_.get()})},
                           // The same certificate twice is returned once.
                           {"userCertificate;binary", alice_der_}}}})));
  ASSERT_OK_AND_ASSIGN(auto source, LdapSource::Create(Options({slapd->url()})));
  EXPECT_THAT(source->Find("alice@bank.example"),
              IsOkAndHolds(UnorderedElementsAre(Der(alice_der_), Der(alice2_der_))));
  EXPECT_EQ(source->counters().skipped_values, 0u);
}

TEST_F(LdapSourceTest, AnAddressCannotWidenTheSearch) {
  // '*' is atext, so "*@bank.example" is a valid address; unescaped it
  // would be a substring filter matching Alice and Bob.
  ASSERT_OK_AND_ASSIGN(auto slapd, Slapd::Start(People()));
  ASSERT_OK_AND_ASSIGN(auto source, LdapSource::Create(Options({slapd->url()})));
  EXPECT_THAT(source->Find("*@bank.example"), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(source->Find("alice*@bank.example"), IsOkAndHolds(IsEmpty()));
  ASSERT_THAT(
      slapd->Add(Ldif({{"star", "*@bank.example", {{"userCertificate;binary", alice2_der_}}}})),
      IsOk());
  // It matches itself and only itself.
  ASSERT_OK_AND_ASSIGN(auto fresh, LdapSource::Create(Options({slapd->url()})));
  EXPECT_THAT(fresh->Find("*@bank.example"), IsOkAndHolds(ElementsAre(Der(alice2_der_))));
  EXPECT_EQ(fresh->counters().searches, 1u);
}

TEST_F(LdapSourceTest, AnswersAreCachedForTheTtl) {
  // Long enough for the steps before the expiry on a loaded machine.
  constexpr absl::Duration kTtl = absl::Seconds(2);
  ASSERT_OK_AND_ASSIGN(auto slapd, Slapd::Start(People()));
  LdapSourceOptions options = Options({slapd->url()});
  options.cache_ttl = kTtl;
  ASSERT_OK_AND_ASSIGN(auto source, LdapSource::Create(options));
  EXPECT_THAT(source->Find("alice@bank.example"), IsOkAndHolds(ElementsAre(Der(alice_der_))));
  // Alice's answer expires by then.
  const absl::Time alice_expired = absl::Now() + kTtl;
  EXPECT_THAT(source->Find("carol@bank.example"), IsOkAndHolds(IsEmpty()));
  EXPECT_EQ(source->counters().searches, 2u);
  // Positive and negative answers, without asking, even with the server gone.
  ASSERT_THAT(slapd->Kill(), IsOk());
  EXPECT_THAT(source->Find("Alice@bank.example"), IsOkAndHolds(ElementsAre(Der(alice_der_))));
  EXPECT_THAT(source->Find("carol@bank.example"), IsOkAndHolds(IsEmpty()));
  LdapSourceCounters counters = source->counters();
  EXPECT_EQ(counters.searches, 2u);
  EXPECT_EQ(counters.cache_hits, 2u);
  EXPECT_EQ(counters.lookups, 4u);
  // After the TTL it asks again, and finds the server down.
  absl::SleepFor(alice_expired - absl::Now() + absl::Milliseconds(100));
  EXPECT_THAT(source->Find("alice@bank.example"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(source->counters().server_failures, 1u);
  ASSERT_THAT(slapd->Restart(), IsOk());
  EXPECT_THAT(source->Find("alice@bank.example"), IsOkAndHolds(ElementsAre(Der(alice_der_))));
}

TEST_F(LdapSourceTest, TheCacheForgetsTheLeastRecentlyUsedAddress) {
  ASSERT_OK_AND_ASSIGN(auto slapd, Slapd::Start(People()));
  LdapSourceOptions options = Options({slapd->url()});
  options.max_cached_addresses = 2;
  ASSERT_OK_AND_ASSIGN(auto source, LdapSource::Create(options));
  ASSERT_THAT(source->Find("alice@bank.example"), IsOk());
  ASSERT_THAT(source->Find("bob@bank.example"), IsOk());
  ASSERT_THAT(source->Find("alice@bank.example"), IsOk());  // hit; bob is now the oldest
  ASSERT_THAT(source->Find("carol@bank.example"), IsOk());  // evicts bob
  EXPECT_EQ(source->counters().searches, 3u);
  ASSERT_THAT(source->Find("alice@bank.example"), IsOk());
  EXPECT_EQ(source->counters().searches, 3u);
  ASSERT_THAT(source->Find("bob@bank.example"), IsOk());
  EXPECT_EQ(source->counters().searches, 4u);
  EXPECT_EQ(source->counters().cache_hits, 2u);
}

TEST_F(LdapSourceTest, FailsOverToTheNextServer) {
  ASSERT_OK_AND_ASSIGN(auto first, Slapd::Start(People()));
  ASSERT_OK_AND_ASSIGN(auto second, Slapd::Start(People()));
  ASSERT_OK_AND_ASSIGN(auto source, LdapSource::Create(Options({first->url(), second->url()})));
  ASSERT_OK_AND_ASSIGN(auto found, source->Find("alice@bank.example"));
  ASSERT_THAT(found, SizeIs(1));
  EXPECT_EQ(found[0].source, "ldap " + first->url());
  ASSERT_THAT(first->Kill(), IsOk());
  ASSERT_OK_AND_ASSIGN(found, source->Find("bob@bank.example"));
  ASSERT_THAT(found, ElementsAre(Der(bob_der_)));
  EXPECT_EQ(found[0].source, "ldap " + second->url());
  EXPECT_EQ(source->counters().server_failures, 1u);
}

TEST_F(LdapSourceTest, AKeptConnectionToARestartedServerIsMadeAgain) {
  ASSERT_OK_AND_ASSIGN(auto slapd, Slapd::Start(People()));
  ASSERT_OK_AND_ASSIGN(auto source, LdapSource::Create(Options({slapd->url()})));
  ASSERT_THAT(source->Find("alice@bank.example"), IsOkAndHolds(SizeIs(1)));
  ASSERT_THAT(slapd->Restart(), IsOk());
  EXPECT_THAT(source->Find("bob@bank.example"), IsOkAndHolds(ElementsAre(Der(bob_der_))));
  EXPECT_EQ(source->counters().server_failures, 0u);
}

TEST_F(LdapSourceTest, AHangingServerCostsAtMostTheTimeout) {
  ASSERT_OK_AND_ASSIGN(auto hanging, Slapd::Start(People()));
  ASSERT_OK_AND_ASSIGN(auto good, Slapd::Start(People()));
  SilentListener silent;
  LdapSourceOptions options = Options({silent.url(), hanging->url(), good->url()});
  options.timeout = absl::Seconds(1);
  options.cache_ttl = absl::ZeroDuration();
  ASSERT_OK_AND_ASSIGN(auto source, LdapSource::Create(options));
  // A kept connection first, then the server stops answering on it.
  ASSERT_OK_AND_ASSIGN(auto found, source->Find("alice@bank.example"));
  ASSERT_THAT(found, SizeIs(1));
  EXPECT_EQ(found[0].source, "ldap " + hanging->url());
  ASSERT_THAT(hanging->Pause(), IsOk());
  for (const char* address : {"bob@bank.example", "alice@bank.example"}) {
    // The first round uses the kept connection, the second a new one.
    const absl::Time start = absl::Now();
    ASSERT_OK_AND_ASSIGN(found, source->Find(address));
    const absl::Duration took = absl::Now() - start;
    ASSERT_THAT(found, SizeIs(1));
    EXPECT_EQ(found[0].source, "ldap " + good->url());
    // Two servers at most 1 s each, plus generous slack.
    EXPECT_LT(took, absl::Seconds(2) + absl::Seconds(3)) << address;
  }
  EXPECT_EQ(source->counters().server_failures, 5u);
  // Alone, the silent one is reported as such.
  ASSERT_OK_AND_ASSIGN(auto alone, LdapSource::Create(Options({silent.url()})));
  const absl::Time start = absl::Now();
  EXPECT_THAT(
      alone->Find("bob@bank.example"),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr(silent.url() + ": timed out after 2s")));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2) + absl::Seconds(3));
  ASSERT_THAT(hanging->Resume(), IsOk());
  // Timed-out connections were dropped; the resumed server answers again.
  ASSERT_OK_AND_ASSIGN(found, source->Find("bob@bank.example"));
  ASSERT_THAT(found, SizeIs(1));
  EXPECT_EQ(found[0].source, "ldap " + hanging->url());
}

TEST_F(LdapSourceTest, AllServersDownIsUnavailableNamingEachAndNotCached) {
  ASSERT_OK_AND_ASSIGN(auto first, Slapd::Start(People()));
  ASSERT_OK_AND_ASSIGN(auto second, Slapd::Start(People()));
  ASSERT_OK_AND_ASSIGN(auto source, LdapSource::Create(Options({first->url(), second->url()})));
  ASSERT_THAT(first->Kill(), IsOk());
  ASSERT_THAT(second->Kill(), IsOk());
  EXPECT_THAT(source->Find("alice@bank.example"),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr(first->url() + ": Can't contact LDAP server"),
                             HasSubstr(second->url() + ": Can't contact LDAP server"))));
  EXPECT_EQ(source->counters().server_failures, 2u);
  ASSERT_THAT(second->Restart(), IsOk());
  EXPECT_THAT(source->Find("alice@bank.example"), IsOkAndHolds(ElementsAre(Der(alice_der_))));
}

TEST_F(LdapSourceTest, ValuesThatAreNotCertificatesAreSkippedAndCounted) {
  const std::string truncated = alice2_der_.substr(0, alice2_der_.size() - 10);
  ASSERT_OK_AND_ASSIGN(std::string pem, fixtures::ToPem(alice2_.get()));
  ASSERT_OK_AND_ASSIGN(
      auto slapd,
      Slapd::Start(Ldif({{"alice",
                          "alice@bank.example",
                          {// slapadd refuses values here that certificateExactMatch cannot
                           // normalize (most random bytes, a whole PEM certificate), so
                           // those are tried in the bundle attribute below.
                           {"userCertificate;binary", "this is no certificate"},
                           {"userCertificate;binary", std::string("\x30\x03\x02\x01\x05", 5)},
                           {"userCertificate;binary", truncated},
                           {"userCertificate;binary", alice_der_ + "trailing"},
                           {"userCertificate;binary", alice_der_},
                           {"userSMIMECertificate", RandomBytes(200)},
                           {"userSMIMECertificate", pem},
                           {"userSMIMECertificate", CertsOnly({})}}}})));
  ASSERT_OK_AND_ASSIGN(auto source, LdapSource::Create(Options({slapd->url()})));
  EXPECT_THAT(source->Find("alice@bank.example"), IsOkAndHolds(ElementsAre(Der(alice_der_))));
  EXPECT_EQ(source->counters().skipped_values, 7u);
}

TEST_F(LdapSourceTest, CertificatesLargerThanTheLimitAreSkipped) {
  ASSERT_OK_AND_ASSIGN(auto slapd, Slapd::Start(People()));
  LdapSourceOptions options = Options({slapd->url()});
  options.max_certificate_bytes = alice_der_.size() - 1;
  ASSERT_OK_AND_ASSIGN(auto source, LdapSource::Create(options));
  EXPECT_THAT(source->Find("alice@bank.example"), IsOkAndHolds(IsEmpty()));
  EXPECT_EQ(source->counters().skipped_values, 1u);
}

TEST_F(LdapSourceTest, ASearchMatchingManyEntriesIsBounded) {
  std::vector<Entry> entries;
  for (int i = 0; i < 30; ++i) {
    ASSERT_OK_AND_ASSIGN(auto key, fixtures::GenerateKey("EC:P-256"));
    ASSERT_OK_AND_ASSIGN(auto certificate, ca_->Issue(key.get(), "Many", "many@bank.example"));
    ASSERT_OK_AND_ASSIGN(std::string der, fixtures::ToDer(certificate.get()));
    entries.push_back(
        {absl::StrCat("many", i), "many@bank.example", {{"userCertificate;binary", der}}});
  }
  ASSERT_OK_AND_ASSIGN(auto slapd, Slapd::Start(Ldif(entries)));
  LdapSourceOptions options = Options({slapd->url()});
  options.max_entries = 5;
  ASSERT_OK_AND_ASSIGN(auto source, LdapSource::Create(options));
  EXPECT_THAT(source->Find("many@bank.example"), IsOkAndHolds(SizeIs(5)));
}

class PasswordFile {
 public:
  explicit PasswordFile(const std::string& content) { std::ofstream(path()) << content; }
  std::string path() const { return dir_.File("password"); }

 private:
  fixtures::TempDir dir_ = *fixtures::TempDir::Create("signet-ldap-pw");
};

TEST_F(LdapSourceTest, SimpleBindWithAPasswordFile) {
  ASSERT_OK_AND_ASSIGN(auto slapd, Slapd::Start(People(), {.reader_password = "s3cret-reader"}));
  // Anonymous clients are not even shown the base entry.
  ASSERT_OK_AND_ASSIGN(auto anonymous, LdapSource::Create(Options({slapd->url()})));
  EXPECT_THAT(anonymous->Find("alice@bank.example"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("not found or not readable")));

  PasswordFile right("s3cret-reader\nignored second line\n");
  LdapSourceOptions options = Options({slapd->url()});
  options.bind_dn = slapd->reader_dn();
  options.bind_password_file = right.path();
  ASSERT_OK_AND_ASSIGN(auto reader, LdapSource::Create(options));
  EXPECT_THAT(reader->Find("alice@bank.example"), IsOkAndHolds(ElementsAre(Der(alice_der_))));

  PasswordFile wrong("wr0ng-password\r\n");
  options.bind_password_file = wrong.path();
  ASSERT_OK_AND_ASSIGN(auto refused, LdapSource::Create(options));
  EXPECT_THAT(refused->Find("alice@bank.example"),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr(slapd->url()), HasSubstr(slapd->reader_dn()),
                             HasSubstr("Invalid credentials"), Not(HasSubstr("wr0ng")),
                             Not(HasSubstr("s3cret")))));
}

TEST_F(LdapSourceTest, AMissingBaseDnIsAServerFailure) {
  ASSERT_OK_AND_ASSIGN(auto slapd, Slapd::Start(People()));
  LdapSourceOptions options = Options({slapd->url()});
  options.base_dn = "ou=nowhere,dc=bank,dc=example";
  ASSERT_OK_AND_ASSIGN(auto source, LdapSource::Create(options));
  EXPECT_THAT(
      source->Find("alice@bank.example"),
      StatusIs(absl::StatusCode::kUnavailable,
               HasSubstr("base DN \"ou=nowhere,dc=bank,dc=example\" not found or not readable")));
}

TEST_F(LdapSourceTest, CreateRefusesBadOptions) {
  const auto invalid = StatusIs(absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(LdapSource::Create(Options({})), invalid);
  EXPECT_THAT(LdapSource::Create(Options({"http://127.0.0.1:389"})), invalid);
  EXPECT_THAT(LdapSource::Create(Options({"ldap://127.0.0.1:389/dc=bank,dc=example"})), invalid);
  EXPECT_THAT(LdapSource::Create(Options({"not a url"})), invalid);
  LdapSourceOptions no_base = Options({"ldap://127.0.0.1:389"});
  no_base.base_dn.clear();
  EXPECT_THAT(LdapSource::Create(no_base), invalid);
  LdapSourceOptions no_file = Options({"ldaps://127.0.0.1:636"});
  no_file.bind_dn = "cn=reader,dc=bank,dc=example";
  EXPECT_THAT(LdapSource::Create(no_file), invalid);
  no_file.bind_password_file = "/nonexistent/password";
  EXPECT_THAT(LdapSource::Create(no_file), invalid);
  PasswordFile empty("\n");
  no_file.bind_password_file = empty.path();
  EXPECT_THAT(LdapSource::Create(no_file), invalid);
}

TEST_F(LdapSourceTest, ConcurrentLookupsShareTheServers) {
  ASSERT_OK_AND_ASSIGN(auto slapd, Slapd::Start(People()));
  LdapSourceOptions options = Options({slapd->url()});
  options.cache_ttl = absl::ZeroDuration();
  ASSERT_OK_AND_ASSIGN(auto source, LdapSource::Create(options));
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        auto found = source->Find(t % 2 ? "alice@bank.example" : "bob@bank.example");
        if (found.ok() && found->size() == 1) ++good;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(good.load(), 160);
  EXPECT_EQ(source->counters().searches, 160u);
}

}  // namespace
}  // namespace signet::directory
