// OcspClient against the real `openssl ocsp` responder on loopback (good,
// revoked, unknown; delegated and CA-signed; signers it must refuse) and
// against responses made here and served by a loopback HTTP server (stale,
// with another nonce, without a nonce, a responder that is down).
#include "appliance/pki/ocsp_client.h"

#include <openssl/ocsp.h>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/free_port.h"
#include "tests/fixtures/http_server.h"
#include "tests/fixtures/ocsp_responder.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/test_pki.h"

namespace signet::pki {
namespace {

using ::signet::matchers::IsOk;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kResponseType[] = "application/ocsp-response";

class OcspClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_, fixtures::HttpServer::Start());
    ASSERT_OK_AND_ASSIGN(port_, fixtures::FreePort());
    ASSERT_OK_AND_ASSIGN(ca_, fixtures::TestCa::Create("Signet OCSP CA"));
    ASSERT_OK_AND_ASSIGN(responder_key_, fixtures::GenerateKey("EC:P-256"));
    ASSERT_OK_AND_ASSIGN(responder_, ca_->Issue(responder_key_.get(), "Signet OCSP Responder", "",
                                                {.extended_key_usage = "OCSPSigning"}));
    ASSERT_OK_AND_ASSIGN(EvpPkeyPtr key, fixtures::GenerateKey("EC:P-256"));
    ASSERT_OK_AND_ASSIGN(certificate_,
                         ca_->Issue(key.get(), "Statements", "statements@bank.example",
                                    {.ocsp_responders = {ResponderUrl()}}));
    trust_.reset(X509_STORE_new());
    ASSERT_EQ(X509_STORE_add_cert(trust_.get(), ca_->certificate()), 1);
    untrusted_.reset(sk_X509_new_null());
  }

  std::string ResponderUrl() const { return absl::StrCat("http://127.0.0.1:", port_, "/"); }

  // `openssl ocsp` on port_, answering with `entries`.
  absl::StatusOr<std::unique_ptr<fixtures::OcspResponder>> StartResponder(
      std::vector<fixtures::OcspIndexEntry> entries, X509* signer = nullptr,
      EVP_PKEY* signer_key = nullptr) {
    return fixtures::OcspResponder::Start(
        {.issuers = {ca_->certificate()},
         .signer = signer != nullptr ? signer : responder_.get(),
         .signer_key = signer_key != nullptr ? signer_key : responder_key_.get(),
         .entries = std::move(entries)},
        port_);
  }

  std::shared_ptr<OcspClient> Client(OcspClientOptions options = {}) {
    absl::StatusOr<std::shared_ptr<OcspClient>> client = OcspClient::Create(std::move(options));
    EXPECT_THAT(client, IsOk());
    return client.value_or(nullptr);
  }

  OcspAnswer Check(OcspClient& client) {
    return client.Check(certificate_.get(), ca_->certificate(), trust_.get(), untrusted_.get());
  }

  // A response made here, served at /canned.
  void ServeCanned(const fixtures::CannedOcspOptions& overrides) {
    fixtures::CannedOcspOptions options = overrides;
    options.certificate = certificate_.get();
    options.issuer = ca_->certificate();
    if (options.signer == nullptr) {
      options.signer = responder_.get();
      options.signer_key = responder_key_.get();
    }
    ASSERT_OK_AND_ASSIGN(std::string response, fixtures::MakeOcspResponse(options));
    server_->Serve("/canned", response, kResponseType);
  }

  std::unique_ptr<fixtures::HttpServer> server_;
  int port_ = 0;
  std::optional<fixtures::TestCa> ca_;
  EvpPkeyPtr responder_key_;
  X509Ptr responder_;
  X509Ptr certificate_;
  X509StorePtr trust_;
  X509StackPtr untrusted_;
};

TEST_F(OcspClientTest, AGoodAnswerFromADelegatedResponderIsKeptUntilNextUpdate) {
  ASSERT_OK_AND_ASSIGN(auto responder, StartResponder({{.certificate = certificate_.get()}}));
  std::shared_ptr<OcspClient> client = Client();
  OcspAnswer answer = Check(*client);
  EXPECT_EQ(answer.status, OcspStatus::kGood) << answer.error;
  EXPECT_EQ(answer.responder, ResponderUrl());
  ASSERT_TRUE(answer.this_update.has_value());
  ASSERT_TRUE(answer.next_update.has_value());
  EXPECT_GT(*answer.next_update, *answer.this_update);
  EXPECT_EQ(responder->Requests(), 1);

  OcspAnswer again = Check(*client);
  EXPECT_EQ(again.status, OcspStatus::kGood);
  EXPECT_EQ(responder->Requests(), 1);
  EXPECT_EQ(client->counters().requests, 1u);
  EXPECT_EQ(client->counters().cache_hits, 1u);
  EXPECT_EQ(client->counters().failures, 0u);
}

TEST_F(OcspClientTest, ARevokedAnswerCarriesItsTimeAndReason) {
  const absl::Time revoked_at =
      absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now())) - absl::Hours(5);
  ASSERT_OK_AND_ASSIGN(auto responder, StartResponder({{.certificate = certificate_.get(),
                                                        .revoked = true,
                                                        .revoked_at = revoked_at,
                                                        .reason = "keyCompromise"}}));
  OcspAnswer answer = Check(*Client());
  EXPECT_EQ(answer.status, OcspStatus::kRevoked) << answer.error;
  EXPECT_EQ(answer.revoked_at, revoked_at);
  EXPECT_EQ(answer.reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
}

TEST_F(OcspClientTest, ACertificateTheResponderDoesNotListIsUnknown) {
  ASSERT_OK_AND_ASSIGN(auto responder, StartResponder({}));
  EXPECT_EQ(Check(*Client()).status, OcspStatus::kUnknown);
}

TEST_F(OcspClientTest, TheIssuingCaMaySignItself) {
  ASSERT_OK_AND_ASSIGN(auto responder, StartResponder({{.certificate = certificate_.get()}},
                                                      ca_->certificate(), ca_->key()));
  OcspAnswer answer = Check(*Client());
  EXPECT_EQ(answer.status, OcspStatus::kGood) << answer.error;
}

TEST_F(OcspClientTest, AResponderCertificateWithoutOcspSigningIsRefused) {
  ASSERT_OK_AND_ASSIGN(EvpPkeyPtr key, fixtures::GenerateKey("EC:P-256"));
  ASSERT_OK_AND_ASSIGN(X509Ptr plain, ca_->Issue(key.get(), "Not A Responder"));
  ASSERT_OK_AND_ASSIGN(auto responder, StartResponder({{.certificate = certificate_.get()}},
                                                      plain.get(), key.get()));
  OcspAnswer answer = Check(*Client());
  EXPECT_EQ(answer.status, OcspStatus::kNoAnswer);
  EXPECT_THAT(answer.error, HasSubstr("signer is not accepted"));
  EXPECT_EQ(responder->Requests(), 1);
}

TEST_F(OcspClientTest, AResponderAnotherTrustedCaDelegatedIsRefused) {
  // Trusted, and its responder certificate has OCSPSigning, but it did not
  // issue the certificate asked about (RFC 6960 section 4.2.2.2).
  ASSERT_OK_AND_ASSIGN(fixtures::TestCa other, fixtures::TestCa::Create("Other CA"));
  ASSERT_EQ(X509_STORE_add_cert(trust_.get(), other.certificate()), 1);
  ASSERT_OK_AND_ASSIGN(EvpPkeyPtr key, fixtures::GenerateKey("EC:P-256"));
  ASSERT_OK_AND_ASSIGN(X509Ptr delegated, other.Issue(key.get(), "Other Responder", "",
                                                      {.extended_key_usage = "OCSPSigning"}));
  ServeCanned({.signer = delegated.get(), .signer_key = key.get()});
  OcspAnswer answer = Check(*Client({.responder_url = server_->Url("/canned")}));
  EXPECT_EQ(answer.status, OcspStatus::kNoAnswer);
  EXPECT_THAT(answer.error, HasSubstr("signer is not accepted"));

  // The other CA signing for a certificate it did not issue: the same.
  ServeCanned({.signer = other.certificate(), .signer_key = other.key()});
  EXPECT_EQ(Check(*Client({.responder_url = server_->Url("/canned")})).status,
            OcspStatus::kNoAnswer);
}

TEST_F(OcspClientTest, AnUntrustedSignerIsRefused) {
  ASSERT_OK_AND_ASSIGN(EvpPkeyPtr key, fixtures::GenerateKey("EC:P-256"));
  ASSERT_OK_AND_ASSIGN(fixtures::TestCa stranger, fixtures::TestCa::Create("Stranger CA"));
  ASSERT_OK_AND_ASSIGN(X509Ptr delegated, stranger.Issue(key.get(), "Stranger Responder", "",
                                                         {.extended_key_usage = "OCSPSigning"}));
  ServeCanned({.signer = delegated.get(), .signer_key = key.get()});
  EXPECT_EQ(Check(*Client({.responder_url = server_->Url("/canned")})).status,
            OcspStatus::kNoAnswer);
}

TEST_F(OcspClientTest, AResponseWithoutNonceIsAccepted) {
  ServeCanned({});
  OcspAnswer answer = Check(*Client({.responder_url = server_->Url("/canned")}));
  EXPECT_EQ(answer.status, OcspStatus::kGood) << answer.error;
  // The request carried a nonce all the same.
  const std::string request = server_->LastBody("/canned");
  const auto* data = reinterpret_cast<const unsigned char*>(request.data());
  OcspRequestPtr parsed(d2i_OCSP_REQUEST(nullptr, &data, static_cast<long>(request.size())));
  ASSERT_NE(parsed, nullptr);
  EXPECT_GE(OCSP_REQUEST_get_ext_by_NID(parsed.get(), NID_id_pkix_OCSP_Nonce, -1), 0);
}

TEST_F(OcspClientTest, AResponseWithAnotherNonceIsRefused) {
  ServeCanned({.nonce = fixtures::NonceChoice::kOther});
  OcspAnswer answer = Check(*Client({.responder_url = server_->Url("/canned")}));
  EXPECT_EQ(answer.status, OcspStatus::kNoAnswer);
  EXPECT_THAT(answer.error, HasSubstr("nonce"));
}

TEST_F(OcspClientTest, AStaleResponseIsRefused) {
  ServeCanned({.this_update_offset = -absl::Hours(48), .validity = absl::Hours(24)});
  OcspAnswer answer = Check(*Client({.responder_url = server_->Url("/canned")}));
  EXPECT_EQ(answer.status, OcspStatus::kNoAnswer);
  EXPECT_THAT(answer.error, HasSubstr("not current"));
}

TEST_F(OcspClientTest, AResponseWithoutNextUpdateIsAcceptedUpToTheMaximumAge) {
  ServeCanned({.this_update_offset = -absl::Hours(2), .validity = absl::ZeroDuration()});
  EXPECT_EQ(Check(*Client({.responder_url = server_->Url("/canned"),
                           .max_age_without_next_update = absl::Hours(1)}))
                .status,
            OcspStatus::kNoAnswer);
  EXPECT_EQ(Check(*Client({.responder_url = server_->Url("/canned"),
                           .max_age_without_next_update = absl::Hours(3)}))
                .status,
            OcspStatus::kGood);
}

TEST_F(OcspClientTest, AResponderThatIsDownIsNotAskedAgainDuringThePause) {
  server_->Serve("/down", "", kResponseType, 503);
  std::shared_ptr<OcspClient> client = Client({.responder_url = server_->Url("/down")});
  OcspAnswer answer = Check(*client);
  EXPECT_EQ(answer.status, OcspStatus::kNoAnswer);
  EXPECT_FALSE(answer.error.empty());
  EXPECT_EQ(server_->Requests("/down"), 1);

  // Neither this certificate again nor another one of the same responder.
  EXPECT_EQ(Check(*client).status, OcspStatus::kNoAnswer);
  ASSERT_OK_AND_ASSIGN(EvpPkeyPtr key, fixtures::GenerateKey("EC:P-256"));
  ASSERT_OK_AND_ASSIGN(X509Ptr other, ca_->Issue(key.get(), "Other"));
  EXPECT_EQ(client->Check(other.get(), ca_->certificate(), trust_.get(), untrusted_.get()).status,
            OcspStatus::kNoAnswer);
  EXPECT_EQ(server_->Requests("/down"), 1);
  EXPECT_EQ(client->counters().requests, 1u);
  EXPECT_EQ(client->counters().failures, 1u);
}

TEST_F(OcspClientTest, NobodyListeningIsNoAnswer) {
  // port_ has no responder in this test. OpenSSL's HTTP client tries to
  // connect again until the timeout, hence a short one.
  OcspAnswer answer = Check(*Client({.timeout = absl::Seconds(1)}));
  EXPECT_EQ(answer.status, OcspStatus::kNoAnswer);
  EXPECT_THAT(answer.error, HasSubstr(ResponderUrl()));
}

TEST_F(OcspClientTest, TheConfiguredResponderOverridesTheCertificates) {
  ServeCanned({});
  std::shared_ptr<OcspClient> client = Client({.responder_url = server_->Url("/canned")});
  EXPECT_EQ(client->ResponderFor(certificate_.get()), server_->Url("/canned"));
  EXPECT_EQ(Client()->ResponderFor(certificate_.get()), ResponderUrl());
  EXPECT_EQ(Check(*client).status, OcspStatus::kGood);
}

TEST_F(OcspClientTest, OnlyHttpResponderUrlsAreConfigured) {
  EXPECT_THAT(OcspClient::Create({.responder_url = "https://ocsp.bank.example/"}), Not(IsOk()));
  EXPECT_THAT(OcspClient::Create({.responder_url = "ldap://ocsp.bank.example/"}), Not(IsOk()));
}

}  // namespace
}  // namespace signet::pki
