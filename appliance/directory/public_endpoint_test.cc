// The public endpoint on a real socket: what a customer's client is given
// for an address, in which format, and what it is refused and why; that
// nothing but a well-formed address of a public domain reaches the lookup;
// the per-client limit and the bound on its table; and that a failing
// lookup says nothing of why.
#include "appliance/directory/public_endpoint.h"

#include <openssl/x509.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "appliance/http/http_testing.h"
#include "common/log.h"
#include "common/pem_certificates.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/subprocess.h"
#include "tests/fixtures/temp_dir.h"
#include "tests/fixtures/test_pki.h"

namespace signet::directory {
namespace {

using ::signet::http::testing::GetRequest;
using ::signet::http::testing::HeaderOf;
using ::signet::http::testing::HttpReply;
using ::signet::http::testing::RawHttpFrom;
using ::signet::matchers::IsOk;
using ::signet::matchers::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

// What the failing lookup says; it must reach the log and never a client.
constexpr char kSecretDetail[] = "database /var/lib/signet/directory.db is locked by pid 4242";

// Alice has two published certificates, Bob one; "broken@" fails.
class PublicEndpointTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<fixtures::TestCa> ca = fixtures::TestCa::Create("Bank Test CA");
    ASSERT_THAT(ca, IsOk());
    auto issue = [&](const std::string& cn, const std::string& email) {
      absl::StatusOr<EvpPkeyPtr> key = fixtures::GenerateKey("EC:P-256");
      EXPECT_THAT(key, IsOk());
      absl::StatusOr<X509Ptr> certificate =
          ca->Issue(key->get(), cn, email, {.for_encryption = true});
      EXPECT_THAT(certificate, IsOk());
      absl::StatusOr<std::string> der = fixtures::ToDer(certificate->get());
      EXPECT_THAT(der, IsOk());
      return *der;
    };
    published_ = new std::map<std::string, std::vector<std::string>>{
        {"alice@bank.example",
         {issue("Alice New", "alice@bank.example"), issue("Alice Old", "alice@bank.example")}},
        {"bob@bank.example", {issue("Bob", "bob@bank.example")}},
    };
  }
  static void TearDownTestSuite() {
    delete published_;
    published_ = nullptr;
  }

  void Start(PublicEndpointOptions options = {.requests_per_second = 1000, .burst = 1000}) {
    absl::StatusOr<std::unique_ptr<PublicEndpoint>> endpoint = PublicEndpoint::Start(
        std::move(options),
        [this](absl::string_view address) -> absl::StatusOr<std::vector<std::string>> {
          {
            std::lock_guard<std::mutex> lock(mutex_);
            lookups_.emplace_back(address);
          }
          if (address == "broken@bank.example") return absl::InternalError(kSecretDetail);
          auto it = published_->find(std::string(address));
          if (it == published_->end()) return std::vector<std::string>();
          return it->second;
        });
    ASSERT_THAT(endpoint, IsOk());
    endpoint_ = std::move(*endpoint);
  }

  HttpReply Get(const std::string& path, const std::string& headers = "",
                const std::string& source = "127.0.0.1", const std::string& method = "GET") {
    absl::StatusOr<HttpReply> reply =
        RawHttpFrom(source, endpoint_->port(), GetRequest(path, headers, method));
    EXPECT_THAT(reply, IsOk()) << path;
    return reply.value_or(HttpReply{});
  }

  std::vector<std::string> Lookups() {
    std::lock_guard<std::mutex> lock(mutex_);
    return lookups_;
  }

  static std::map<std::string, std::vector<std::string>>* published_;
  std::unique_ptr<PublicEndpoint> endpoint_;
  std::mutex mutex_;
  std::vector<std::string> lookups_;
};

std::map<std::string, std::vector<std::string>>* PublicEndpointTest::published_ = nullptr;

std::string DerOf(X509* certificate) {
  unsigned char* der = nullptr;
  const int length = i2d_X509(certificate, &der);
  std::string result(reinterpret_cast<char*>(der), static_cast<size_t>(std::max(length, 0)));
  OPENSSL_free(der);
  return result;
}

TEST_F(PublicEndpointTest, AllCertificatesAsAPemChainByDefault) {
  Start();
  const HttpReply reply = Get("/certificates/alice@bank.example");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.content_type, "application/pem-certificate-chain");
  EXPECT_EQ(HeaderOf(reply, "Cache-Control"), "public, max-age=3600");
  EXPECT_EQ(HeaderOf(reply, "Vary"), "Accept");
  EXPECT_EQ(HeaderOf(reply, "Set-Cookie"), "");
  ASSERT_OK_AND_ASSIGN(std::vector<X509Ptr> certificates, ParsePemCertificates(reply.body));
  const std::vector<std::string>& expected = published_->at("alice@bank.example");
  ASSERT_EQ(certificates.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(DerOf(certificates[i].get()), expected[i]);
  // And as openssl reads it, in order.
  ASSERT_OK_AND_ASSIGN(fixtures::CommandResult printed,
                       fixtures::RunCommandOk({"sh", "-c",
                                               "openssl crl2pkcs7 -nocrl -certfile /dev/stdin | "
                                               "openssl pkcs7 -print_certs -noout"},
                                              reply.body));
  EXPECT_THAT(printed.out, ::testing::ContainsRegex("CN ?= ?Alice New(.|\n)*CN ?= ?Alice Old"));
  EXPECT_EQ(Lookups(), std::vector<std::string>{"alice@bank.example"});
}

TEST_F(PublicEndpointTest, TheFirstCertificateAsDerWhenAskedFor) {
  Start();
  HttpReply reply = Get("/certificates/alice@bank.example", "Accept: application/pkix-cert\r\n");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.content_type, "application/pkix-cert");
  EXPECT_EQ(reply.body, published_->at("alice@bank.example")[0]);
  ASSERT_OK_AND_ASSIGN(fixtures::CommandResult parsed,
                       fixtures::RunCommandOk({"openssl", "x509", "-inform", "DER", "-noout",
                                               "-subject", "-ext", "subjectAltName"},
                                              reply.body));
  EXPECT_THAT(parsed.out, HasSubstr("Alice New"));
  EXPECT_THAT(parsed.out, HasSubstr("alice@bank.example"));
  // Preferred by q over the chain.
  reply = Get("/certificates/bob@bank.example",
              "Accept: application/pem-certificate-chain;q=0.5, application/pkix-cert\r\n");
  EXPECT_EQ(reply.content_type, "application/pkix-cert");
  EXPECT_EQ(reply.body, published_->at("bob@bank.example")[0]);
}

// curl, an independent client, over the percent-encoded form.
TEST_F(PublicEndpointTest, CurlFetchesBothFormats) {
  Start();
  ASSERT_OK_AND_ASSIGN(fixtures::TempDir dir, fixtures::TempDir::Create());
  const std::string url =
      absl::StrCat("http://127.0.0.1:", endpoint_->port(), "/certificates/Bob%40Bank.Example");
  ASSERT_OK_AND_ASSIGN(fixtures::CommandResult pem,
                       fixtures::RunCommandOk({"curl", "-sS", "-o", dir.File("bob.pem"), "-w",
                                               "%{http_code} %{content_type}", url}));
  EXPECT_EQ(pem.out, "200 application/pem-certificate-chain");
  ASSERT_OK_AND_ASSIGN(
      fixtures::CommandResult der,
      fixtures::RunCommandOk({"sh", "-c", "openssl x509 -in \"$1\" -outform DER | od -An -tx1",
                              "sh", dir.File("bob.pem")}));
  ASSERT_OK_AND_ASSIGN(
      fixtures::CommandResult direct,
      fixtures::RunCommandOk({"sh", "-c",
                              "curl -sS -H 'Accept: application/pkix-cert' \"$1\" | od -An -tx1",
                              "sh", url}));
  EXPECT_FALSE(der.out.empty());
  EXPECT_EQ(der.out, direct.out);
  EXPECT_EQ(Lookups(), (std::vector<std::string>{"bob@bank.example", "bob@bank.example"}));
}

TEST_F(PublicEndpointTest, EscapedAndMixedCaseAddressesAreNormalized) {
  Start();
  EXPECT_EQ(Get("/certificates/alice%40bank.example").status, 200);
  EXPECT_EQ(Get("/certificates/ALICE@Bank.Example").status, 200);
  EXPECT_EQ(Get("/certificates/%61lice%40bank%2Eexample").status, 200);
  EXPECT_EQ(Lookups(), std::vector<std::string>(3, "alice@bank.example"));
}

TEST_F(PublicEndpointTest, HeadIsTheGetWithoutTheBody) {
  Start();
  const HttpReply reply = Get("/certificates/bob@bank.example", "", "127.0.0.1", "HEAD");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.content_type, "application/pem-certificate-chain");
  EXPECT_NE(HeaderOf(reply, "Content-Length"), "0");
  EXPECT_EQ(reply.body, "");
}

TEST_F(PublicEndpointTest, OtherMethodsAre405) {
  Start();
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS"}) {
    const HttpReply reply = Get("/certificates/bob@bank.example", "", "127.0.0.1", method);
    EXPECT_EQ(reply.status, 405) << method;
    EXPECT_EQ(HeaderOf(reply, "Allow"), "GET, HEAD");
  }
  EXPECT_TRUE(Lookups().empty());
}

TEST_F(PublicEndpointTest, UnknownAddressesAre404AndMalformedOnes400) {
  Start();
  HttpReply reply = Get("/certificates/carol@bank.example");
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(reply.content_type, "text/plain; charset=utf-8");
  reply = Get("/certificates/not-an-address");
  EXPECT_EQ(reply.status, 400);
  EXPECT_THAT(reply.body, HasSubstr("no '@'"));
  EXPECT_EQ(Get("/certificates/").status, 400);
  EXPECT_EQ(Get("/certificates/a@@bank.example").status, 400);
  EXPECT_EQ(Get("/certificates/a@localhost").status, 400);
  EXPECT_EQ(Get("/certificates").status, 404);
  EXPECT_EQ(Get("/certificate/alice@bank.example").status, 404);
  EXPECT_EQ(Lookups(), std::vector<std::string>{"carol@bank.example"});
}

TEST_F(PublicEndpointTest, ForeignDomainsAre404WithoutALookup) {
  Start({.requests_per_second = 1000,
         .burst = 1000,
         .public_domains = {"Bank.Example", "bank-mail.example"}});
  const HttpReply known = Get("/certificates/alice@bank.example");
  EXPECT_EQ(known.status, 200);
  const HttpReply unknown = Get("/certificates/nobody@bank-mail.example");
  EXPECT_EQ(unknown.status, 404);
  for (const char* path :
       {"/certificates/alice@other.example", "/certificates/alice@sub.bank.example"}) {
    const HttpReply foreign = Get(path);
    EXPECT_EQ(foreign.status, 404) << path;
    // Indistinguishable from an unpublished address of the bank's.
    EXPECT_EQ(foreign.body, unknown.body) << path;
  }
  EXPECT_EQ(Lookups(),
            (std::vector<std::string>{"alice@bank.example", "nobody@bank-mail.example"}));
}

TEST_F(PublicEndpointTest, UnacceptableFormatsAre406) {
  Start();
  for (const char* accept : {"text/html", "application/json, text/*",
                             "application/pem-certificate-chain;q=0, application/pkix-cert;q=0",
                             "application/*;q=0", "*/*;q=0"}) {
    EXPECT_EQ(
        Get("/certificates/alice@bank.example", absl::StrCat("Accept: ", accept, "\r\n")).status,
        406)
        << accept;
  }
  EXPECT_EQ(Get("/certificates/alice@bank.example", "Accept: */*\r\n").content_type,
            "application/pem-certificate-chain");
  EXPECT_EQ(Lookups().size(), 1u);
}

TEST_F(PublicEndpointTest, ALookupFailureIs503AndItsDetailIsOnlyLogged) {
  Start();
  std::mutex log_mutex;
  std::string logged;
  LogSink previous = SetLogSink([&](LogLevel, absl::string_view line) {
    std::lock_guard<std::mutex> lock(log_mutex);
    absl::StrAppend(&logged, line, "\n");
  });
  const HttpReply reply = Get("/certificates/broken@bank.example");
  SetLogSink(std::move(previous));
  EXPECT_EQ(reply.status, 503);
  EXPECT_THAT(reply.head + reply.body, Not(HasSubstr("locked")));
  EXPECT_THAT(reply.head + reply.body, Not(HasSubstr("/var/lib")));
  std::lock_guard<std::mutex> lock(log_mutex);
  EXPECT_THAT(logged, HasSubstr(kSecretDetail));
}

TEST_F(PublicEndpointTest, AFullBucketIs429UntilItRefills) {
  // Half a token a second: four requests on loopback take far less than
  // the two seconds a refill needs.
  Start({.requests_per_second = 0.5, .burst = 3});
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Get("/certificates/bob@bank.example", "", "127.0.0.2").status, 200) << i;
  }
  HttpReply refused = Get("/certificates/bob@bank.example", "", "127.0.0.2");
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(HeaderOf(refused, "Retry-After"), "2");
  // Malformed requests are paid for too.
  EXPECT_EQ(Get("/certificates/junk", "", "127.0.0.2").status, 429);
  // Another client is not affected.
  EXPECT_EQ(Get("/certificates/bob@bank.example", "", "127.0.0.3").status, 200);
  EXPECT_EQ(Lookups().size(), 4u);
  // After the wait it asked for, the client is served again.
  int retry_after = 0;
  ASSERT_TRUE(absl::SimpleAtoi(HeaderOf(refused, "Retry-After"), &retry_after));
  std::this_thread::sleep_for(std::chrono::seconds(retry_after));
  EXPECT_EQ(Get("/certificates/bob@bank.example", "", "127.0.0.2").status, 200);
}

TEST_F(PublicEndpointTest, TheClientTableIsBounded) {
  Start({.requests_per_second = 0.001, .burst = 1, .max_tracked_clients = 4});
  EXPECT_EQ(Get("/certificates/bob@bank.example", "", "127.0.0.2").status, 200);
  EXPECT_EQ(Get("/certificates/bob@bank.example", "", "127.0.0.2").status, 429);
  // A spray from many addresses: each is served once, the table stays at
  // its bound, and the first client, least recently seen, is forgotten.
  for (int i = 10; i < 60; ++i) {
    EXPECT_EQ(Get("/certificates/bob@bank.example", "", absl::StrCat("127.0.1.", i)).status, 200)
        << i;
    EXPECT_LE(endpoint_->tracked_clients(), 4u);
  }
  EXPECT_EQ(endpoint_->tracked_clients(), 4u);
  EXPECT_EQ(Get("/certificates/bob@bank.example", "", "127.0.0.2").status, 200);
  // The most recent ones are still limited.
  EXPECT_EQ(Get("/certificates/bob@bank.example", "", "127.0.1.59").status, 429);
}

TEST_F(PublicEndpointTest, HostilePathsAreRefusedWithoutALookup) {
  Start();
  for (const std::string& path : std::vector<std::string>{
           "/certificates/../../etc/passwd",
           "/certificates/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
           "/certificates/alice@bank.example/../../x",
           "/certificates/alice%00@bank.example",
           "/certificates/alice@bank.example%00.evil",
           "/certificates/alice%0d%0aSet-Cookie:%20x@bank.example",
           "/certificates/al%ice@bank.example",
           "/certificates/%C3%A9@bank.example",
           "/certificates/%22a%20b%22@bank.example",
           absl::StrCat("/certificates/", std::string(4000, 'a'), "@bank.example"),
           absl::StrCat("/certificates/a@", std::string(300, 'b'), ".example"),
       }) {
    const HttpReply reply = Get(path);
    EXPECT_TRUE(reply.status == 400 || reply.status == 404) << path << ": " << reply.status;
    EXPECT_EQ(HeaderOf(reply, "Set-Cookie"), "") << path;
  }
  // Longer than the header limit: libmicrohttpd refuses it or hangs up.
  absl::StatusOr<HttpReply> huge = RawHttpFrom(
      "127.0.0.1", endpoint_->port(),
      GetRequest(absl::StrCat("/certificates/", std::string(64 << 10, 'a'), "@bank.example")));
  if (huge.ok()) {
    EXPECT_GE(huge->status, 400);
    EXPECT_LT(huge->status, 500);
  }
  // A raw control byte in the request line.
  absl::StatusOr<HttpReply> raw = RawHttpFrom(
      "127.0.0.1", endpoint_->port(),
      "GET /certificates/a\x01@bank.example HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  if (raw.ok()) {
    EXPECT_EQ(raw->status, 400);
  }
  EXPECT_TRUE(Lookups().empty());
  // Still serving.
  EXPECT_EQ(Get("/certificates/bob@bank.example").status, 200);
}

TEST(PublicEndpointStartTest, BadOptionsAreRefused) {
  auto none = [](absl::string_view) -> absl::StatusOr<std::vector<std::string>> {
    return std::vector<std::string>();
  };
  EXPECT_THAT(PublicEndpoint::Start({.requests_per_second = 0}, none),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(PublicEndpoint::Start({.burst = 0}, none),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(PublicEndpoint::Start({.max_tracked_clients = 0}, none),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(PublicEndpoint::Start({.public_domains = {"bank.example", "not a domain"}}, none),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(PublicEndpoint::Start({.listen = {.ip = "localhost", .port = 0}}, none),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(PublicEndpoint::Start({}, nullptr), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(RateLimitKeyTest, IPv6ClientsAreKeyedByTheir64) {
  EXPECT_EQ(RateLimitKey("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(RateLimitKey("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
  EXPECT_EQ(RateLimitKey("2001:db8:1:2::1"), RateLimitKey("2001:db8:1:2:ffff::9"));
  EXPECT_NE(RateLimitKey("2001:db8:1:2::1"), RateLimitKey("2001:db8:1:3::1"));
  EXPECT_EQ(RateLimitKey("::1"), "::/64");
  EXPECT_EQ(RateLimitKey(""), "");
}

TEST(NegotiateCertificateFormatTest, FollowsQualitiesAndSpecificity) {
  using enum CertificateFormat;
  EXPECT_EQ(NegotiateCertificateFormat(""), kPemChain);
  EXPECT_EQ(NegotiateCertificateFormat("*/*"), kPemChain);
  EXPECT_EQ(NegotiateCertificateFormat("application/*"), kPemChain);
  EXPECT_EQ(NegotiateCertificateFormat("Application/PKIX-Cert"), kDer);
  EXPECT_EQ(NegotiateCertificateFormat("application/pkix-cert, application/pem-certificate-chain"),
            kPemChain);
  EXPECT_EQ(NegotiateCertificateFormat("application/*;q=0.5, application/pkix-cert"), kDer);
  EXPECT_EQ(NegotiateCertificateFormat("application/pkix-cert;q=0, */*"), kPemChain);
  EXPECT_EQ(NegotiateCertificateFormat("application/pem-certificate-chain;q=0, */*;q=0.1"), kDer);
  EXPECT_EQ(NegotiateCertificateFormat("text/html"), std::nullopt);
  EXPECT_EQ(NegotiateCertificateFormat("application/pkix-cert;q=bogus"), std::nullopt);
  EXPECT_EQ(NegotiateCertificateFormat("*/*;q=0"), std::nullopt);
}

}  // namespace
}  // namespace signet::directory
