#include "tests/integration/milter_test_world.h"

#include <grpcpp/grpcpp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "signet/v1/directory.grpc.pb.h"
#include "tests/fixtures/cms_verifiers.h"
#include "tests/fixtures/read_file.h"
#include "tests/fixtures/signetd_channels.h"
#include "tests/fixtures/test_pki.h"

namespace signet::fixtures {
namespace {

constexpr char kCallers[] = R"pb(
  callers {
    name: "milter"
    unix_uid: $UID
    grants { keys: "bank-signing" operations: SIGN_MAIL }
    grants { keys: "bank-decryption" operations: DECRYPT_MAIL }
    grants { operations: [ ENCRYPT_MAIL, VERIFY_MAIL, LOOKUP_CERTIFICATES, PUBLISH_CERTIFICATES ] }
  }
)pb";

constexpr char kPolicy[] = R"pb(
  outbound {
    signers { senders: "statements@bank.example" key: "bank-signing" }
    recipient_policies { domains: "*" action: SIGN_AND_ENCRYPT_IF_POSSIBLE }
    recipient_policies { domains: "regulator.example" action: MUST_ENCRYPT }
    on_missing_certificate: REJECT
  }
  inbound { rules { recipients: "bank.example" decrypt: true decryption_keys: "bank-decryption" } }
)pb";

}  // namespace

absl::StatusOr<std::unique_ptr<MilterWorld>> MilterWorld::Start(MilterWorldOptions options) {
  // A private Postfix runs its daemons as the postfix user: only root can.
  if (options.postfix && geteuid() != 0) {
    return absl::FailedPreconditionError("a private Postfix needs root");
  }
  ASSIGN_OR_RETURN(TempDir dir, TempDir::Create("signet-milter"));
  std::unique_ptr<MilterWorld> world(new MilterWorld(std::move(dir)));
  // smtpd connects to the milter's socket as the postfix user.
  if (chmod(world->dir_.path().c_str(), 0755) != 0) {
    return absl::InternalError("cannot open the scratch directory to the postfix user");
  }
  ASSIGN_OR_RETURN(world->signetd_,
                   SignetdEnv::Start({.signetd_path = SIGNETD_PATH,
                                      .callers = kCallers,
                                      .extra_config = absl::StrCat(
                                          "validation { revocation: REVOCATION_OFF }\n"
                                          "directory { store_path: \"$DIR/directory.db\" }\n",
                                          options.signetd_extra_config)}));
  // The customer's certificate is from the bank's CA, which signetd trusts
  // for signers and recipients alike.
  ASSIGN_OR_RETURN(world->customer_key_, GenerateKey("RSA:2048"));
  ASSIGN_OR_RETURN(
      world->customer_certificate_,
      world->signetd_->ca().Issue(world->customer_key_.get(), "Customer", "customer@example.org",
                                  {.key_usage = "critical,digitalSignature,keyEncipherment"}));
  world->customer_pem_ = world->File("customer.pem");
  world->customer_key_pem_ = world->File("customer.key");
  RETURN_IF_ERROR(WritePem(world->customer_pem_, world->customer_certificate_.get()));
  RETURN_IF_ERROR(WritePrivateKeyPem(world->customer_key_pem_, world->customer_key_.get()));
  RETURN_IF_ERROR(world->Publish(world->customer_certificate_.get()));

  RETURN_IF_ERROR(world->StartMilter(options));
  if (!options.postfix) return world;
  ASSIGN_OR_RETURN(world->sink_, SmtpSink::Start(world->File("sink")));
  ASSIGN_OR_RETURN(world->postfix_,
                   PostfixInstance::Start({.relay_port = world->sink_->port(),
                                           .milters = world->MilterSocket(),
                                           .extra_main_cf = options.postfix_main_cf}));
  return world;
}

absl::Status MilterWorld::StartMilter(const MilterWorldOptions& options) {
  const std::string config = File("milter.textproto");
  std::ofstream(config) << absl::StrCat(
      "listen: \"unix:", File("milter.sock"), "\"\n", "listen_mode: 0666\n", "signetd { socket: \"",
      signetd_->socket(), "\" }\n", "authserv_id: \"mx.bank.example\"\n",
      "local_domains: \"bank.example\"\n",
      "signetd_timeout_seconds: ", options.signetd_timeout_seconds, "\n",
      options.max_message_bytes == 0
          ? ""
          : absl::StrCat("max_message_bytes: ", options.max_message_bytes, "\n"),
      options.policy.empty() ? kPolicy : options.policy);
  ASSIGN_OR_RETURN(milter_, ChildProcess::Spawn({SIGNET_MILTER_PATH, "--config", config}, {},
                                                File("milter.log")));
  const std::string socket = File("milter.sock");
  for (int i = 0; i < 500; ++i) {
    struct stat info;
    if (stat(socket.c_str(), &info) == 0) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(10));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("signet-milter made no socket in 5 s: ", MilterLog()));
}

MilterWorld::~MilterWorld() {
  postfix_.reset();
  milter_.reset();
  sink_.reset();
  signetd_.reset();
}

absl::StatusOr<std::string> MilterWorld::OpenAsCustomer(const std::string& mail) const {
  ASSIGN_OR_RETURN(std::string inner, OpensslSmimeDecrypt(mail, customer_pem_, customer_key_pem_));
  std::string content;
  RETURN_IF_ERROR(OpensslSmimeVerify(inner, ca_pem(), &content));
  return content;
}

std::string MilterWorld::MilterLog() const { return ReadFile(File("milter.log")); }

absl::Status MilterWorld::Publish(X509* certificate) {
  auto directory = v1::Directory::NewStub(UnixChannel(*signetd_));
  grpc::ClientContext context;
  v1::PublishRequest request;
  ASSIGN_OR_RETURN(std::string der, ToDer(certificate));
  request.set_certificate(der);
  v1::PublishResponse response;
  grpc::Status published = directory->Publish(&context, request, &response);
  if (!published.ok()) {
    return absl::InternalError(absl::StrCat("Publish: ", published.error_message()));
  }
  return absl::OkStatus();
}

std::string StatementMail(absl::string_view to) {
  return absl::StrCat("From: Statements <statements@bank.example>\r\n", "To: <", to, ">\r\n",
                      "Subject: Your statement\r\n", "Message-ID: <statement-1@bank.example>\r\n",
                      "Date: Sun, 06 Dec 2026 01:00:00 +0000\r\n", "MIME-Version: 1.0\r\n",
                      "Content-Type: text/plain; charset=us-ascii\r\n", "\r\n",
                      "Balance on 6 December: 1,234.56 EUR.\r\n");
}

}  // namespace signet::fixtures
