#include "tests/bench/verify_bench.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "tests/bench/bench_daemon.h"
#include "tests/bench/signet_runner.h"
#include "tests/fixtures/http_server.h"
#include "tests/fixtures/subprocess.h"
#include "tests/fixtures/test_mail.h"
#include "tests/fixtures/test_pki.h"

namespace signet::bench {
namespace {

// Entries on each CRL besides nothing the signer needs: OpenSSL sorts a CRL
// once and then searches it, so its size costs the cache, not each call.
constexpr int kRevokedEntries = 200;

absl::StatusOr<std::string> CrlWithEntries(fixtures::TestCa& ca, EVP_PKEY* key) {
  std::vector<X509Ptr> revoked;
  fixtures::CrlOptions options;
  for (int i = 0; i < kRevokedEntries; ++i) {
    ASSIGN_OR_RETURN(X509Ptr certificate, ca.Issue(key, absl::StrCat("Revoked ", i)));
    options.revoked.push_back({.certificate = certificate.get(), .reason = 1});
    revoked.push_back(std::move(certificate));
  }
  ASSIGN_OR_RETURN(X509CrlPtr crl, ca.MakeCrl(options));
  return fixtures::ToDer(crl.get());
}

}  // namespace

absl::Status RunVerifyComparison(BenchTokens& tokens, const std::string& signetd_path,
                                 const std::vector<int>& concurrency, const Timing& timing,
                                 BenchResults& results) {
  ASSIGN_OR_RETURN(std::unique_ptr<fixtures::HttpServer> server, fixtures::HttpServer::Start());
  ASSIGN_OR_RETURN(fixtures::TestCa root, fixtures::TestCa::Create("Bench Verify Root"));
  ASSIGN_OR_RETURN(EvpPkeyPtr inter_key, fixtures::GenerateKey("EC:P-256"));
  ASSIGN_OR_RETURN(X509Ptr inter_certificate,
                   root.Issue(inter_key.get(), "Bench Verify Intermediate", "",
                              {.ca = true, .crl_distribution_points = {server->Url("/root.crl")}}));
  fixtures::TestCa inter =
      fixtures::TestCa::Adopt(std::move(inter_certificate), std::move(inter_key));
  ASSIGN_OR_RETURN(EvpPkeyPtr signer_key, fixtures::GenerateKey("EC:P-256"));
  ASSIGN_OR_RETURN(X509Ptr signer,
                   inter.Issue(signer_key.get(), "Statements", "statements@bank.example",
                               {.crl_distribution_points = {server->Url("/inter.crl")}}));
  ASSIGN_OR_RETURN(std::string root_crl, CrlWithEntries(root, signer_key.get()));
  ASSIGN_OR_RETURN(std::string inter_crl, CrlWithEntries(inter, signer_key.get()));
  server->Serve("/root.crl", root_crl, "application/pkix-crl");
  server->Serve("/inter.crl", inter_crl, "application/pkix-crl");

  const std::string anchors = tokens.File("verify-root.pem");
  RETURN_IF_ERROR(fixtures::WritePem(anchors, root.certificate()));
  RETURN_IF_ERROR(fixtures::WritePem(tokens.File("verify-inter.pem"), inter.certificate()));
  RETURN_IF_ERROR(fixtures::WritePem(tokens.File("verify-signer.pem"), signer.get()));
  RETURN_IF_ERROR(fixtures::WritePrivateKeyPem(tokens.File("verify-signer.key"), signer_key.get()));
  { std::ofstream(tokens.File("verify-mail.eml")) << fixtures::TestMail{}.Text(); }
  // Signed by openssl, as a mail from outside would be.
  ASSIGN_OR_RETURN(
      fixtures::CommandResult signed_mail,
      fixtures::RunCommandOk({"openssl", "cms", "-sign", "-in", tokens.File("verify-mail.eml"),
                              "-signer", tokens.File("verify-signer.pem"), "-inkey",
                              tokens.File("verify-signer.key"), "-certfile",
                              tokens.File("verify-inter.pem"), "-md", "sha256"}));

  ASSIGN_OR_RETURN(std::unique_ptr<BenchDaemon> off,
                   BenchDaemon::Start(tokens, {.signetd_path = signetd_path,
                                               .name = "verify-off",
                                               .trust_anchors_file = anchors,
                                               .extra_config = "validation { revocation: "
                                                               "REVOCATION_OFF }"}));
  ASSIGN_OR_RETURN(std::unique_ptr<BenchDaemon> crl,
                   BenchDaemon::Start(tokens, {.signetd_path = signetd_path,
                                               .name = "verify-crl",
                                               .trust_anchors_file = anchors,
                                               .extra_config = "validation { revocation: "
                                                               "REVOCATION_REQUIRE }"}));
  auto off_channels = MakeChannels(off->Target(), grpc::InsecureChannelCredentials(), 4);
  auto crl_channels = MakeChannels(crl->Target(), grpc::InsecureChannelCredentials(), 4);
  SignetRunner off_runner(off->pid(), off_channels[0], "");
  SignetRunner crl_runner(crl->pid(), crl_channels[0], "");

  // A few calls fill the cache; from then on no point may ask for a CRL.
  const GrpcLoad fill{.rpc = Rpc::kVerifyMail,
                      .keys = {""},
                      .payload = signed_mail.out,
                      .concurrency = 1,
                      .timing = {.warmup = std::chrono::milliseconds(0),
                                 .measure = std::chrono::milliseconds(200)}};
  ASSIGN_OR_RETURN(LoadResult filled, RunGrpcLoad(crl_channels, fill));
  if (filled.all_completed == 0 || filled.errors > 0) {
    return absl::InternalError("VerifyMail with revocation did not succeed");
  }
  const int requests_before = server->Requests("/root.crl") + server->Requests("/inter.crl");
  for (int c : concurrency) {
    for (bool revocation : {false, true}) {
      Point point{.impl = "signet",
                  .transport = "unix",
                  .op = "VerifyMail",
                  .algorithm = "P-256",
                  .token = revocation ? "crl-hot" : "revocation-off",
                  .mail_bytes = signed_mail.out.size()};
      const GrpcLoad load{.rpc = Rpc::kVerifyMail,
                          .keys = {""},
                          .payload = signed_mail.out,
                          .concurrency = c,
                          .timing = timing};
      RETURN_IF_ERROR((revocation ? crl_runner : off_runner)
                          .Measure(revocation ? crl_channels : off_channels, load, point));
      if (point.load.errors > 0) {
        return absl::InternalError(absl::StrCat("VerifyMail failed ", point.load.errors, " times (",
                                                revocation ? "crl" : "off", ")"));
      }
      results.Add(std::move(point));
    }
  }
  results.SetSetting(
      "verify_crl_requests_measured",
      server->Requests("/root.crl") + server->Requests("/inter.crl") - requests_before);
  results.SetSetting("verify_crl_revoked_entries", kRevokedEntries);
  return absl::OkStatus();
}

}  // namespace signet::bench
