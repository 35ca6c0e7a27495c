// TsaClient against the real `openssl ts -reply` on loopback: stamps that
// `openssl ts -verify` accepts, failover between TSAs, and each check a
// reply must pass, with replies the openssl TSA made for other requests,
// by other signers, or under a policy it refuses.
#include "appliance/timestamp/tsa_client.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/free_port.h"
#include "tests/fixtures/http_server.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/subprocess.h"
#include "tests/fixtures/temp_dir.h"
#include "tests/fixtures/test_pki.h"
#include "tests/fixtures/tsa_responder.h"

namespace signet::timestamp {
namespace {

using ::signet::matchers::IsOk;
using ::signet::matchers::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr char kData[] = "the signature value of some mail";

class TsaClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(ca_, fixtures::TestCa::Create("Signet TSA Root"));
    ASSERT_OK_AND_ASSIGN(tsa_key_, fixtures::GenerateKey("EC:P-256"));
    ASSERT_OK_AND_ASSIGN(tsa_, ca_->Issue(tsa_key_.get(), "Test TSA", "",
                                          {.extended_key_usage = "critical,timeStamping"}));
    ASSERT_OK_AND_ASSIGN(tsa_server_, Responder());
  }

  absl::StatusOr<std::unique_ptr<fixtures::TsaResponder>> Responder(
      fixtures::TsaResponderOptions options = {}) {
    if (options.signer == nullptr) {
      options.signer = tsa_.get();
      options.signer_key = tsa_key_.get();
    }
    return fixtures::TsaResponder::Start(options);
  }

  std::unique_ptr<TsaClient> Client(std::vector<std::string> urls, TsaClientOptions options = {}) {
    options.urls = std::move(urls);
    if (options.anchors.empty()) options.anchors = {ca_->certificate()};
    absl::StatusOr<std::unique_ptr<TsaClient>> client = TsaClient::Create(options);
    EXPECT_THAT(client, IsOk());
    return client.ok() ? std::move(*client) : nullptr;
  }

  // A URL nobody listens on.
  std::string ClosedUrl() {
    absl::StatusOr<int> port = fixtures::FreePort();
    EXPECT_THAT(port, IsOk());
    return absl::StrCat("http://127.0.0.1:", port.value_or(1), "/tsa");
  }

  // `openssl ts -verify` on the token, the data and the TSA root.
  absl::StatusOr<fixtures::CommandResult> OpensslVerify(const std::string& token,
                                                        absl::string_view data) {
    ASSIGN_OR_RETURN(fixtures::TempDir dir, fixtures::TempDir::Create("signet-tsa-verify"));
    RETURN_IF_ERROR(fixtures::WritePem(dir.File("root.pem"), ca_->certificate()));
    std::ofstream(dir.File("token.der"), std::ios::binary) << token;
    std::ofstream(dir.File("data"), std::ios::binary) << data;
    return fixtures::RunCommand({"openssl", "ts", "-verify", "-data", dir.File("data"), "-in",
                                 dir.File("token.der"), "-token_in", "-CAfile",
                                 dir.File("root.pem")});
  }

  std::optional<fixtures::TestCa> ca_;
  EvpPkeyPtr tsa_key_;
  X509Ptr tsa_;
  std::unique_ptr<fixtures::TsaResponder> tsa_server_;
};

TEST_F(TsaClientTest, AStampIsCheckedAndOpensslAcceptsIt) {
  std::unique_ptr<TsaClient> client = Client({tsa_server_->Url()});
  ASSERT_NE(client, nullptr);
  ASSERT_OK_AND_ASSIGN(Timestamp stamp, client->Stamp(kData));
  EXPECT_EQ(stamp.url, tsa_server_->Url());
  EXPECT_EQ(stamp.facts.policy_oid, fixtures::kTsaDefaultPolicy);
  EXPECT_THAT(stamp.facts.tsa_name, HasSubstr("CN=Test TSA"));
  EXPECT_FALSE(stamp.facts.serial_hex.empty());
  EXPECT_EQ(stamp.facts.digest, ImprintDigest::kSha256);
  // The TSA's clock is this machine's.
  EXPECT_GT(stamp.facts.gen_time, absl::Now() - fixtures::kValidityMargin);
  EXPECT_LT(stamp.facts.gen_time, absl::Now() + fixtures::kValidityMargin);
  EXPECT_EQ(tsa_server_->Requests(), 1);

  ASSERT_OK_AND_ASSIGN(fixtures::CommandResult verified,
                       OpensslVerify(stamp.facts.token_der, kData));
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_THAT(verified.out, HasSubstr("Verification: OK"));
  // And it is over these bytes only.
  ASSERT_OK_AND_ASSIGN(fixtures::CommandResult other,
                       OpensslVerify(stamp.facts.token_der, "other bytes"));
  EXPECT_NE(other.exit_code, 0);
}

TEST_F(TsaClientTest, EachStampHasItsOwnSerial) {
  std::unique_ptr<TsaClient> client = Client({tsa_server_->Url()});
  ASSERT_NE(client, nullptr);
  ASSERT_OK_AND_ASSIGN(Timestamp first, client->Stamp(kData));
  ASSERT_OK_AND_ASSIGN(Timestamp second, client->Stamp(kData));
  EXPECT_NE(first.facts.serial_hex, second.facts.serial_hex);
}

TEST_F(TsaClientTest, Sha512ImprintAndARequestedPolicy) {
  std::unique_ptr<TsaClient> client =
      Client({tsa_server_->Url()},
             {.policy_oid = fixtures::kTsaOtherPolicy, .digest = ImprintDigest::kSha512});
  ASSERT_NE(client, nullptr);
  ASSERT_OK_AND_ASSIGN(Timestamp stamp, client->Stamp(kData));
  EXPECT_EQ(stamp.facts.digest, ImprintDigest::kSha512);
  EXPECT_EQ(stamp.facts.policy_oid, fixtures::kTsaOtherPolicy);
  ASSERT_OK_AND_ASSIGN(fixtures::CommandResult verified,
                       OpensslVerify(stamp.facts.token_der, kData));
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
}

TEST_F(TsaClientTest, APolicyTheTsaDoesNotOfferIsARejection) {
  std::unique_ptr<TsaClient> client =
      Client({tsa_server_->Url()}, {.policy_oid = "1.3.6.1.4.1.99999.3161.99"});
  ASSERT_NE(client, nullptr);
  EXPECT_THAT(client->Stamp(kData),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr(tsa_server_->Url()), HasSubstr("rejection"),
                             HasSubstr("unacceptedPolicy"))));
}

TEST_F(TsaClientTest, ARefusedConnectionFailsOverToTheNextTsa) {
  const std::string closed = ClosedUrl();
  // OpenSSL's HTTP client retries a refused connection until the timeout.
  std::unique_ptr<TsaClient> client =
      Client({closed, tsa_server_->Url()}, {.timeout = absl::Seconds(1)});
  ASSERT_NE(client, nullptr);
  ASSERT_OK_AND_ASSIGN(Timestamp stamp, client->Stamp(kData));
  EXPECT_EQ(stamp.url, tsa_server_->Url());
}

TEST_F(TsaClientTest, NoTsaAnsweringIsUnavailableNamingEach) {
  const std::string first = ClosedUrl();
  ASSERT_OK_AND_ASSIGN(auto server, fixtures::HttpServer::Start());
  const std::string second = server->Url("/tsa");
  server.reset();
  std::unique_ptr<TsaClient> client = Client({first, second}, {.timeout = absl::Seconds(1)});
  ASSERT_NE(client, nullptr);
  EXPECT_THAT(client->Stamp(kData), StatusIs(absl::StatusCode::kUnavailable,
                                             AllOf(HasSubstr(absl::StrCat(first, ": ")),
                                                   HasSubstr(absl::StrCat(second, ": ")))));
}

TEST_F(TsaClientTest, ASilentTsaCostsTheTimeoutThenTheNextIsAsked) {
  ASSERT_OK_AND_ASSIGN(auto server, fixtures::HttpServer::Start());
  server->Hang("/tsa");
  std::unique_ptr<TsaClient> alone = Client({server->Url("/tsa")}, {.timeout = absl::Seconds(1)});
  ASSERT_NE(alone, nullptr);
  EXPECT_THAT(alone->Stamp(kData), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("timeout")));

  std::unique_ptr<TsaClient> client =
      Client({server->Url("/tsa"), tsa_server_->Url()}, {.timeout = absl::Seconds(1)});
  ASSERT_NE(client, nullptr);
  ASSERT_OK_AND_ASSIGN(Timestamp stamp, client->Stamp(kData));
  EXPECT_EQ(stamp.url, tsa_server_->Url());
}

TEST_F(TsaClientTest, AReplyToAnotherRequestIsRefusedAndTheNextTsaAsked) {
  // What the openssl TSA answers to someone else's request, served as is.
  ASSERT_OK_AND_ASSIGN(std::string request, fixtures::MakeTimestampRequest("other data"));
  ASSERT_OK_AND_ASSIGN(std::string reply, tsa_server_->Reply(request));
  ASSERT_OK_AND_ASSIGN(auto server, fixtures::HttpServer::Start());
  server->Serve("/tsa", reply, "application/timestamp-reply");

  std::unique_ptr<TsaClient> alone = Client({server->Url("/tsa")});
  ASSERT_NE(alone, nullptr);
  EXPECT_THAT(alone->Stamp(kData),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("OTHER_DATA"), HasSubstr("the stamp is over other data"))));

  std::unique_ptr<TsaClient> client = Client({server->Url("/tsa"), tsa_server_->Url()});
  ASSERT_NE(client, nullptr);
  ASSERT_OK_AND_ASSIGN(Timestamp stamp, client->Stamp(kData));
  EXPECT_EQ(stamp.url, tsa_server_->Url());
}

TEST_F(TsaClientTest, AReplyForAnotherImprintWithTheRightNonceIsRefused) {
  ASSERT_OK_AND_ASSIGN(auto responder,
                       Responder({.rewrite_request = [](const std::string& request) {
                         return fixtures::WithImprintOf(request, "other data");
                       }}));
  std::unique_ptr<TsaClient> client = Client({responder->Url()});
  ASSERT_NE(client, nullptr);
  EXPECT_THAT(client->Stamp(kData),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("OTHER_DATA")));
}

TEST_F(TsaClientTest, AReplyWithAnotherNonceIsRefused) {
  ASSERT_OK_AND_ASSIGN(auto responder, Responder({.rewrite_request = fixtures::WithOtherNonce}));
  std::unique_ptr<TsaClient> client = Client({responder->Url()});
  ASSERT_NE(client, nullptr);
  EXPECT_THAT(client->Stamp(kData),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("NONCE_MISMATCH"), HasSubstr("nonce"))));
}

TEST_F(TsaClientTest, ATsaOfAnotherCaIsNotTrusted) {
  ASSERT_OK_AND_ASSIGN(fixtures::TestCa other_ca, fixtures::TestCa::Create("Other TSA Root"));
  ASSERT_OK_AND_ASSIGN(X509Ptr other_tsa,
                       other_ca.Issue(tsa_key_.get(), "Test TSA", "",
                                      {.extended_key_usage = "critical,timeStamping"}));
  ASSERT_OK_AND_ASSIGN(auto responder,
                       Responder({.signer = other_tsa.get(), .signer_key = tsa_key_.get()}));
  std::unique_ptr<TsaClient> client = Client({responder->Url()});
  ASSERT_NE(client, nullptr);
  EXPECT_THAT(client->Stamp(kData),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("UNTRUSTED_TSA")));
  // The same TSA is accepted by a client that trusts its CA.
  std::unique_ptr<TsaClient> trusting =
      Client({responder->Url()}, {.anchors = {other_ca.certificate()}});
  ASSERT_NE(trusting, nullptr);
  EXPECT_THAT(trusting->Stamp(kData), IsOk());
}

TEST_F(TsaClientTest, ATsaCertificateWithoutCriticalTimestampingIsRefused) {
  // `openssl ts -reply` will not sign with it; the TSTInfo it made is signed
  // again with `openssl cms -sign -cades`.
  ASSERT_OK_AND_ASSIGN(X509Ptr lax, ca_->Issue(tsa_key_.get(), "Test TSA", "",
                                               {.extended_key_usage = "timeStamping"}));
  ASSERT_OK_AND_ASSIGN(auto responder,
                       Responder({.resign_certificate = lax.get(), .resign_key = tsa_key_.get()}));
  std::unique_ptr<TsaClient> client = Client({responder->Url()});
  ASSERT_NE(client, nullptr);
  EXPECT_THAT(client->Stamp(kData),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("NOT_TIMESTAMPING_CERTIFICATE"), HasSubstr("critical"))));

  // The re-signing itself is sound: with the proper certificate it passes.
  ASSERT_OK_AND_ASSIGN(auto resigned,
                       Responder({.resign_certificate = tsa_.get(), .resign_key = tsa_key_.get()}));
  std::unique_ptr<TsaClient> control = Client({resigned->Url()});
  ASSERT_NE(control, nullptr);
  EXPECT_THAT(control->Stamp(kData), IsOk());
}

TEST_F(TsaClientTest, AStampFromAClockThatIsOffIsRefused) {
  for (absl::Duration offset : {-absl::Hours(1), absl::Hours(1)}) {
    ASSERT_OK_AND_ASSIGN(auto responder, Responder({.resign_certificate = tsa_.get(),
                                                    .resign_key = tsa_key_.get(),
                                                    .resign_gen_time_offset = offset}));
    std::unique_ptr<TsaClient> client = Client({responder->Url()});
    ASSERT_NE(client, nullptr);
    EXPECT_THAT(client->Stamp(kData),
                StatusIs(absl::StatusCode::kUnavailable,
                         AllOf(HasSubstr("genTime"),
                               HasSubstr(offset < absl::ZeroDuration() ? "behind" : "ahead"))));
  }
}

TEST_F(TsaClientTest, AWrongContentTypeIsRefused) {
  ASSERT_OK_AND_ASSIGN(std::string request, fixtures::MakeTimestampRequest(kData));
  ASSERT_OK_AND_ASSIGN(std::string reply, tsa_server_->Reply(request));
  ASSERT_OK_AND_ASSIGN(auto server, fixtures::HttpServer::Start());
  server->Serve("/tsa", reply, "application/octet-stream");
  std::unique_ptr<TsaClient> client = Client({server->Url("/tsa")});
  ASSERT_NE(client, nullptr);
  EXPECT_THAT(client->Stamp(kData), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(TsaClientTest, ConfigurationIsChecked) {
  EXPECT_THAT(
      TsaClient::Create({.urls = {"https://tsa.example/"}, .anchors = {ca_->certificate()}}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("http:")));
  EXPECT_THAT(TsaClient::Create({.anchors = {ca_->certificate()}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(TsaClient::Create({.urls = {tsa_server_->Url()}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(TsaClient::Create({.urls = {tsa_server_->Url()},
                                 .policy_oid = "not an OID",
                                 .anchors = {ca_->certificate()}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("dotted OID")));
}

}  // namespace
}  // namespace signet::timestamp
