// Revocation through signetd (issue #16): a root and an intermediate CA made
// here, whose CRLs a loopback HTTP server serves at the distribution points
// the certificates name; mails signed by `openssl cms -sign` (a tool apart
// from Signet) with a good and with a revoked signer. signetd, configured to
// require an answer, trusts the one, refuses the other as REVOKED, answers
// the second verification from its cache (counted at the server), and its
// health entry "signet.revocation" follows a CRL file that goes stale and is
// replaced.
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "appliance/http/http_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/v1/errors.pb.h"
#include "signet/v1/mail.grpc.pb.h"
#include "tests/fixtures/free_port.h"
#include "tests/fixtures/health_client.h"
#include "tests/fixtures/http_server.h"
#include "tests/fixtures/mail_stream_call.h"
#include "tests/fixtures/signetd_channels.h"
#include "tests/fixtures/signetd_env.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/subprocess.h"
#include "tests/fixtures/temp_dir.h"
#include "tests/fixtures/test_mail.h"
#include "tests/fixtures/test_pki.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;

using CallResult = fixtures::MailCallResult;
using fixtures::ServingStatus;
using fixtures::StreamMail;

constexpr int kKeyCompromise = 1;

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

absl::StatusOr<std::string> CrlDer(const fixtures::TestCa& ca,
                                   const fixtures::CrlOptions& options) {
  ASSIGN_OR_RETURN(X509CrlPtr crl, ca.MakeCrl(options));
  return fixtures::ToDer(crl.get());
}

class SignetdRevocationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { state_ = new State; }
  static void TearDownTestSuite() {
    delete state_;
    state_ = nullptr;
  }

  struct State {
    State() {
      Setup();
      if (::testing::Test::HasFatalFailure()) ok = false;
    }
    void Setup() {
      ASSERT_OK_AND_ASSIGN(server, fixtures::HttpServer::Start());
      ASSERT_OK_AND_ASSIGN(dir, fixtures::TempDir::Create("signetd-revocation"));
      ASSERT_OK_AND_ASSIGN(root, fixtures::TestCa::Create("Mail Root"));
      ASSERT_OK_AND_ASSIGN(EvpPkeyPtr inter_key, fixtures::GenerateKey("EC:P-256"));
      ASSERT_OK_AND_ASSIGN(
          X509Ptr inter_cert,
          root->Issue(inter_key.get(), "Mail Intermediate", "",
                      {.ca = true, .crl_distribution_points = {server->Url("/root.crl")}}));
      inter = fixtures::TestCa::Adopt(std::move(inter_cert), std::move(inter_key));
      ASSERT_TRUE(fixtures::WritePem(dir->File("root.pem"), root->certificate()).ok());
      ASSERT_TRUE(fixtures::WritePem(dir->File("inter.pem"), inter->certificate()).ok());
      for (const char* name : {"good", "revoked"}) {
        ASSERT_OK_AND_ASSIGN(EvpPkeyPtr key, fixtures::GenerateKey("EC:P-256"));
        ASSERT_OK_AND_ASSIGN(
            X509Ptr certificate,
            inter->Issue(key.get(), absl::StrCat("Statements ", name), "statements@bank.example",
                         {.crl_distribution_points = {server->Url("/inter.crl")}}));
        ASSERT_TRUE(
            fixtures::WritePem(dir->File(absl::StrCat(name, ".pem")), certificate.get()).ok());
        ASSERT_TRUE(
            fixtures::WritePrivateKeyPem(dir->File(absl::StrCat(name, ".key")), key.get()).ok());
        if (std::string(name) == "revoked") revoked = std::move(certificate);
      }
      ASSERT_OK_AND_ASSIGN(std::string root_crl, CrlDer(*root, {}));
      ASSERT_OK_AND_ASSIGN(
          std::string inter_crl,
          CrlDer(*inter, {.revoked = {{.certificate = revoked.get(), .reason = kKeyCompromise}}}));
      server->Serve("/root.crl", root_crl, "application/pkix-crl");
      server->Serve("/inter.crl", inter_crl, "application/pkix-crl");

      WriteFile(dir->File("statement.eml"), fixtures::TestMail{}.Text());
      for (const char* name : {"good", "revoked"}) {
        ASSERT_OK_AND_ASSIGN(
            fixtures::CommandResult signed_mail,
            fixtures::RunCommandOk({"openssl", "cms", "-sign", "-in", dir->File("statement.eml"),
                                    "-signer", dir->File(absl::StrCat(name, ".pem")), "-inkey",
                                    dir->File(absl::StrCat(name, ".key")), "-certfile",
                                    dir->File("inter.pem"), "-md", "sha256"}));
        mails[name] = signed_mail.out;
      }

      // A CRL file of a CA retired long ago, past its nextUpdate: stale
      // from the start.
      ASSERT_OK_AND_ASSIGN(retired, fixtures::TestCa::Create("Retired CA"));
      ASSERT_OK_AND_ASSIGN(
          std::string stale_crl,
          CrlDer(*retired, {.this_update_offset = -absl::Hours(72), .validity = absl::Hours(24)}));
      WriteFile(dir->File("retired.crl"), stale_crl);

      ASSERT_OK_AND_ASSIGN(metrics_port, fixtures::FreePort());
      const std::string extra_config = absl::StrCat(
          "validation { revocation: REVOCATION_REQUIRE crl_files: \"", dir->File("retired.crl"),
          "\" crl_refresh_interval_seconds: 1 crl_stale_after_seconds: 60 }\n",
          "metrics_address: \"127.0.0.1:", metrics_port, "\"\n");
      ASSERT_OK_AND_ASSIGN(
          std::unique_ptr<fixtures::SignetdEnv> started,
          fixtures::SignetdEnv::Start({.signetd_path = SIGNETD_PATH,
                                       .extra_config = extra_config,
                                       .trust_anchors_file = dir->File("root.pem")}));
      env = std::move(started);
    }

    bool ok = true;
    std::unique_ptr<fixtures::HttpServer> server;
    std::optional<fixtures::TempDir> dir;
    std::optional<fixtures::TestCa> root;
    std::optional<fixtures::TestCa> inter;
    std::optional<fixtures::TestCa> retired;
    X509Ptr revoked;
    std::map<std::string, std::string> mails;
    int metrics_port = 0;
    std::unique_ptr<fixtures::SignetdEnv> env;
  };

  // What a monitoring system scraping /metrics gets.
  static std::string Metrics() {
    absl::StatusOr<http::testing::HttpReply> reply = http::testing::RawHttp(
        state_->metrics_port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_THAT(reply, IsOk());
    if (!reply.ok()) return {};
    EXPECT_EQ(reply->status, 200);
    EXPECT_THAT(reply->content_type, HasSubstr("text/plain; version=0.0.4"));
    return reply->body;
  }

  void SetUp() override { ASSERT_TRUE(state_->ok); }

  static CallResult Verify(const std::string& mail, bool require_trusted_chain) {
    auto stub = v1::Mail::NewStub(fixtures::UnixChannel(*state_->env));
    v1::VerifyMailRequest::Header header;
    header.set_require_trusted_chain(require_trusted_chain);
    return StreamMail<v1::VerifyMailRequest>(&v1::Mail::Stub::VerifyMail, *stub, header, mail);
  }

  static ServingStatus RevocationHealth() {
    fixtures::HealthReply reply =
        fixtures::CheckHealth(fixtures::UnixChannel(*state_->env), "signet.revocation");
    EXPECT_THAT(reply.status, IsOk());
    return reply.serving;
  }

  static bool WaitForRevocationHealth(ServingStatus wanted) {
    const absl::Time give_up = absl::Now() + absl::Seconds(30);
    while (RevocationHealth() != wanted) {
      if (absl::Now() > give_up) return false;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return true;
  }

  static State* state_;
};

SignetdRevocationTest::State* SignetdRevocationTest::state_ = nullptr;

TEST_F(SignetdRevocationTest, AGoodSignerIsTrustedWithEachCertificateCheckedAndCached) {
  const int root_requests = state_->server->Requests("/root.crl");
  const int inter_requests = state_->server->Requests("/inter.crl");
  CallResult result = Verify(state_->mails["good"], /*require_trusted_chain=*/true);
  ASSERT_THAT(result.status, IsOk());
  ASSERT_EQ(result.header.signers_size(), 1);
  const v1::Signer& signer = result.header.signers(0);
  EXPECT_EQ(signer.chain_status(), v1::TRUSTED);
  // Signer, intermediate, root; the root is the anchor and not checked.
  ASSERT_EQ(signer.revocation_size(), 3);
  EXPECT_EQ(signer.revocation(0).status(), v1::REVOCATION_GOOD);
  EXPECT_EQ(signer.revocation(0).source(), state_->server->Url("/inter.crl"));
  EXPECT_TRUE(signer.revocation(0).has_this_update());
  EXPECT_EQ(signer.revocation(1).status(), v1::REVOCATION_GOOD);
  EXPECT_EQ(signer.revocation(1).source(), state_->server->Url("/root.crl"));

  // A hot cache asks nobody.
  const int root_after = state_->server->Requests("/root.crl");
  const int inter_after = state_->server->Requests("/inter.crl");
  EXPECT_LE(root_after - root_requests, 1);
  EXPECT_LE(inter_after - inter_requests, 1);
  ASSERT_THAT(Verify(state_->mails["good"], true).status, IsOk());
  EXPECT_EQ(state_->server->Requests("/root.crl"), root_after);
  EXPECT_EQ(state_->server->Requests("/inter.crl"), inter_after);
}

TEST_F(SignetdRevocationTest, ARevokedSignerIsReportedAndRefused) {
  CallResult reported = Verify(state_->mails["revoked"], /*require_trusted_chain=*/false);
  ASSERT_THAT(reported.status, IsOk());
  ASSERT_EQ(reported.header.signers_size(), 1);
  const v1::Signer& signer = reported.header.signers(0);
  EXPECT_NE(signer.chain_status(), v1::TRUSTED);
  ASSERT_GE(signer.revocation_size(), 1);
  EXPECT_EQ(signer.revocation(0).status(), v1::REVOCATION_REVOKED);
  EXPECT_EQ(signer.revocation(0).reason(), "keyCompromise");
  EXPECT_TRUE(signer.revocation(0).has_revoked_at());

  CallResult refused = Verify(state_->mails["revoked"], /*require_trusted_chain=*/true);
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << refused.status.error_message();
  v1::ErrorDetails details;
  ASSERT_TRUE(details.ParseFromString(refused.status.error_details()));
  EXPECT_EQ(details.verify_failure(), "REVOKED");
  EXPECT_TRUE(refused.body.empty());
}

TEST_F(SignetdRevocationTest, AStaleCrlFileTurnsHealthNotServingUntilReplaced) {
  ASSERT_TRUE(WaitForRevocationHealth(ServingStatus::kNotServing));
  EXPECT_THAT(state_->env->DaemonLog(),
              HasSubstr(absl::StrCat("stale CRL source file ", state_->dir->File("retired.crl"))));
  // Tokens are not affected by stale CRLs.
  fixtures::HealthReply token =
      fixtures::CheckHealth(fixtures::UnixChannel(*state_->env), "signet.token.bank-hsm");
  EXPECT_EQ(token.serving, ServingStatus::kServing);

  // The operator drops in a current CRL; the refresher reads it without
  // any verification asking.
  ASSERT_OK_AND_ASSIGN(std::string current, CrlDer(*state_->retired, {.crl_number = 2}));
  WriteFile(state_->dir->File("retired.crl.new"), current);
  ASSERT_EQ(rename(state_->dir->File("retired.crl.new").c_str(),
                   state_->dir->File("retired.crl").c_str()),
            0);
  EXPECT_TRUE(WaitForRevocationHealth(ServingStatus::kServing));
  EXPECT_THAT(state_->env->DaemonLog(), HasSubstr("is current again"));
}

// The CRL sources' ages are scraped from /metrics: the stale file's CRL
// is past its nextUpdate, and a distribution point appears once a
// verification fetched from it.
TEST_F(SignetdRevocationTest, MetricsShowEachCrlSourcesAgeAndTheFetches) {
  CallResult result = Verify(state_->mails["good"], /*require_trusted_chain=*/true);
  ASSERT_THAT(result.status, IsOk()) << result.status.error_message();
  const std::string metrics = Metrics();
  EXPECT_THAT(metrics, HasSubstr("# TYPE signet_crl_age_seconds gauge"));
  EXPECT_THAT(metrics, HasSubstr(absl::StrCat("signet_crl_age_seconds{source=\"",
                                              state_->server->Url("/inter.crl"), "\"} ")));
  EXPECT_THAT(metrics, HasSubstr(absl::StrCat("signet_crl_source_failing_seconds{source=\"",
                                              state_->server->Url("/inter.crl"), "\"} 0\n")));
  EXPECT_THAT(metrics, ContainsRegex("signet_crl_fetches_total [1-9]"));
  EXPECT_THAT(metrics, HasSubstr("signet_ocsp_requests_total"));
  // The audit log's counters: at least the sync of its opening entries.
  EXPECT_THAT(metrics, ContainsRegex("\nsignet_audit_syncs_total [1-9]"));
  EXPECT_THAT(metrics, HasSubstr("# TYPE signet_audit_records_synced_total counter\n"));
  // The retired CA's CRL was replaced by the health test if it ran first;
  // either way the file is a source with an age.
  EXPECT_THAT(metrics, HasSubstr(absl::StrCat("signet_crl_age_seconds{source=\"file ",
                                              state_->dir->File("retired.crl"), "\"} ")));
}

}  // namespace
}  // namespace signet
