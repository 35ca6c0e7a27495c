// The HTTP exchange against a loopback server: what is fetched, and each way
// a fetch is refused (scheme, redirect, error status, size, silence).
#include "appliance/pki/http_fetch.h"

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/http_server.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::pki {
namespace {

using ::signet::matchers::IsOkAndHolds;
using ::signet::matchers::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

// A DER SEQUENCE the client accepts as ASN.1: 30 03 02 01 05.
const std::string kDer("\x30\x03\x02\x01\x05", 5);

class HttpFetchTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK_AND_ASSIGN(server_, fixtures::HttpServer::Start()); }
  std::unique_ptr<fixtures::HttpServer> server_;
};

TEST_F(HttpFetchTest, GetsTheBody) {
  server_->Serve("/ca.crl", kDer, "application/pkix-crl");
  EXPECT_THAT(HttpTransfer({.url = server_->Url("/ca.crl")}), IsOkAndHolds(kDer));
  EXPECT_EQ(server_->Requests("/ca.crl"), 1);
}

TEST_F(HttpFetchTest, PostsTheBodyWithItsContentType) {
  server_->Serve("/ocsp", kDer, "application/ocsp-response");
  EXPECT_THAT(HttpTransfer({.url = server_->Url("/ocsp"),
                            .body = kDer,
                            .content_type = "application/ocsp-request",
                            .expected_content_type = "application/ocsp-response"}),
              IsOkAndHolds(kDer));
  EXPECT_EQ(server_->LastBody("/ocsp"), kDer);
}

TEST_F(HttpFetchTest, OnlyHttpUrlsAreFetched) {
  EXPECT_THAT(HttpTransfer({.url = "https://127.0.0.1/ca.crl"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("only http:")));
  EXPECT_THAT(HttpTransfer({.url = "ldap://directory.example/cn=CA"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(HttpTransfer({.url = "not a url"}), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(HttpFetchTest, ARedirectIsNotFollowed) {
  server_->Serve("/elsewhere.crl", kDer);
  server_->Redirect("/ca.crl", server_->Url("/elsewhere.crl"));
  EXPECT_THAT(HttpTransfer({.url = server_->Url("/ca.crl")}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("not followed")));
  EXPECT_EQ(server_->Requests("/elsewhere.crl"), 0);
}

TEST_F(HttpFetchTest, ErrorStatusesTooLargeBodiesAndNonDerAreUnavailable) {
  EXPECT_THAT(HttpTransfer({.url = server_->Url("/missing.crl")}),
              StatusIs(absl::StatusCode::kUnavailable));
  server_->Serve("/big.crl", std::string("\x30\x82\x10\x00", 4) + std::string(4096, 'x'));
  EXPECT_THAT(HttpTransfer({.url = server_->Url("/big.crl"), .max_response_bytes = 1024}),
              StatusIs(absl::StatusCode::kUnavailable));
  server_->Serve("/text.crl", "<html>a captive portal</html>", "text/html");
  EXPECT_THAT(HttpTransfer({.url = server_->Url("/text.crl")}),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(HttpFetchTest, ASilentServerCostsTheTimeout) {
  server_->Hang("/slow.crl");
  const absl::Time start = absl::Now();
  EXPECT_THAT(HttpTransfer({.url = server_->Url("/slow.crl"), .timeout = absl::Seconds(1)}),
              StatusIs(absl::StatusCode::kUnavailable));
  // Bounded by the timeout (whole seconds), not by the server.
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

// A refused connection is an answer, not a wait: the error is the refusal
// itself, not the timeout OpenSSL's own connect loop would run into.
TEST_F(HttpFetchTest, NobodyListeningIsUnavailableAtOnce) {
  const std::string url = server_->Url("/ca.crl");
  server_.reset();
  absl::StatusOr<std::string> refused = HttpTransfer({.url = url, .timeout = absl::Seconds(30)});
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("127.0.0.1")));
  EXPECT_THAT(refused.status().message(), Not(HasSubstr("timeout")));
  EXPECT_THAT(refused.status().message(), HasSubstr("refused"));
}

}  // namespace
}  // namespace signet::pki
