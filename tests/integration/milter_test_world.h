// What signet-milter's end-to-end suites share (issue #19): a signetd with
// SoftHSM keys and a certificate directory, a customer whose certificate
// the bank's CA issued and signetd's directory publishes, an SMTP sink,
// signet-milter with the bank's policy, and a private Postfix whose
// smtpd_milters point at it and which relays everything to the sink.
//
// The policy: mail from statements@bank.example is signed with
// bank-signing and encrypted where the directory has a certificate
// (SIGN_AND_ENCRYPT_IF_POSSIBLE); regulator.example must get it encrypted
// (MUST_ENCRYPT, REJECT otherwise); mail to bank.example is decrypted with
// bank-decryption and verified, with "mx.bank.example" as authserv-id.
//
// With Postfix, Start() needs root: a private Postfix drops its daemons to
// the postfix user. Without it (MilterWorldOptions.postfix false), the
// milter's socket is for a test that speaks the milter protocol itself.
#ifndef SIGNET_TESTS_INTEGRATION_MILTER_TEST_WORLD_H_
#define SIGNET_TESTS_INTEGRATION_MILTER_TEST_WORLD_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/ossl_ptr.h"
#include "tests/fixtures/postfix.h"
#include "tests/fixtures/signetd_env.h"
#include "tests/fixtures/smtp_sink.h"
#include "tests/fixtures/subprocess.h"
#include "tests/fixtures/temp_dir.h"

namespace signet::fixtures {

struct MilterWorldOptions {
  // signet-milter's signetd_timeout_seconds: also how long a mail waits
  // for a signetd that is down before it is deferred.
  uint32_t signetd_timeout_seconds = 3;
  // signet-milter's max_message_bytes; 0: its default.
  uint64_t max_message_bytes = 0;
  // Appended to signetd's configuration (e.g. "limits { ... }").
  std::string signetd_extra_config;
  // signet-milter's `outbound` and `inbound`; empty: the policy above.
  std::string policy;
  // Whether to start the SMTP sink and Postfix.
  bool postfix = true;
  // Further main.cf lines for Postfix (PostfixOptions.extra_main_cf).
  std::vector<std::string> postfix_main_cf;
};

class MilterWorld {
 public:
  static absl::StatusOr<std::unique_ptr<MilterWorld>> Start(MilterWorldOptions options = {});

  MilterWorld(const MilterWorld&) = delete;
  MilterWorld& operator=(const MilterWorld&) = delete;
  // Postfix first, so that nothing is in flight when the milter goes.
  ~MilterWorld();

  SignetdEnv& signetd() { return *signetd_; }
  SmtpSink& sink() { return *sink_; }
  PostfixInstance& postfix() { return *postfix_; }

  // customer@example.org: certificate and key as PEM files, for openssl.
  X509* customer_certificate() const { return customer_certificate_.get(); }
  const std::string& customer_pem() const { return customer_pem_; }
  const std::string& customer_key_pem() const { return customer_key_pem_; }
  // The bank's CA (signetd's trust anchor and the customer's issuer).
  std::string ca_pem() const { return signetd_->File("ca.pem"); }

  // The world's scratch directory, and a file in it.
  const std::string& dir() const { return dir_.path(); }
  std::string File(absl::string_view name) const { return dir_.File(std::string(name)); }
  // signet-milter's output so far (one line per mail).
  std::string MilterLog() const;
  // "unix:<path>", as the MTA reaches the milter.
  std::string MilterSocket() const { return "unix:" + File("milter.sock"); }
  ChildProcess& milter() { return *milter_; }

  // What customer@example.org reads of `mail`: decrypted with the customer's
  // key (openssl), its signature verified against the bank's CA; returns
  // the content the signature covers.
  absl::StatusOr<std::string> OpenAsCustomer(const std::string& mail) const;

  // Publishes `certificate` in signetd's directory.
  absl::Status Publish(X509* certificate);

 private:
  explicit MilterWorld(TempDir dir) : dir_(std::move(dir)) {}
  absl::Status StartMilter(const MilterWorldOptions& options);

  TempDir dir_;
  std::unique_ptr<SignetdEnv> signetd_;
  EvpPkeyPtr customer_key_;
  X509Ptr customer_certificate_;
  std::string customer_pem_;
  std::string customer_key_pem_;
  std::unique_ptr<SmtpSink> sink_;
  std::unique_ptr<ChildProcess> milter_;
  std::unique_ptr<PostfixInstance> postfix_;
};

// A bank statement from statements@bank.example to `to`, with the fields a
// reader sees (Message-ID <statement-1@bank.example>, Subject "Your
// statement") and the line "Balance on 6 December: 1,234.56 EUR.".
std::string StatementMail(absl::string_view to);

}  // namespace signet::fixtures

#endif  // SIGNET_TESTS_INTEGRATION_MILTER_TEST_WORLD_H_
