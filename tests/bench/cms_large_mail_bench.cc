// The CMS engine's CPU per MiB on large mails (issue #20), without gRPC,
// a daemon or a token: SignMail, VerifyMail, EncryptMail and DecryptMail
// of one generated mail with a software P-256 key (ECDH for the encryption), timed in this
// thread's CPU time, best of --runs. What signetd adds on top (gRPC, the
// audit record) is measured end to end by signet_bench.
//
// Run by hand: cms_large_mail_bench --mib 16 --runs 3 [--eightbit]
// (an 8-bit body is re-encoded in base64 when signed); the profile:
// perf record -g cms_large_mail_bench --mib 16 --only sign.
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "appliance/cms/decryptor.h"
#include "appliance/cms/mail_encryptor.h"
#include "appliance/cms/mail_signer.h"
#include "appliance/cms/trust_store.h"
#include "appliance/cms/verifier.h"
#include "tests/fixtures/test_pki.h"

namespace {

double ThreadCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

// Header fields and a text body of 72-character lines ending in LF, as
// Postfix hands mail over; `eightbit` puts a Latin-1 byte in every line.
std::string MakeMail(size_t bytes, bool eightbit) {
  std::string mail =
      "From: Bench Sender <bench@example.org>\n"
      "To: someone@example.net\n"
      "Subject: a large statement\n"
      "MIME-Version: 1.0\n"
      "Content-Type: text/plain; charset=iso-8859-1\n"
      "\n";
  mail.reserve(bytes + 128);
  std::string line = "The quick brown fox jumps over the lazy dog, 0123456789 times over.....\n";
  if (eightbit) line[10] = '\xe9';
  while (mail.size() + line.size() <= bytes) mail += line;
  return mail;
}

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "%s\n", status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  size_t mib = 16;
  int runs = 3;
  bool eightbit = false;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--mib") && i + 1 < argc) {
      mib = std::strtoul(argv[++i], nullptr, 10);
    } else if (!std::strcmp(argv[i], "--runs") && i + 1 < argc) {
      runs = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--only") && i + 1 < argc) {
      only = argv[++i];
    } else if (!std::strcmp(argv[i], "--eightbit")) {
      eightbit = true;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--mib N] [--runs N] [--eightbit] "
                   "[--only sign|verify|encrypt|decrypt]\n",
                   argv[0]);
      return 2;
    }
  }
  using signet::fixtures::TestCa;
  absl::StatusOr<TestCa> ca = TestCa::Create("Bench CA", "EC:P-256");
  if (!ca.ok()) return Fail(ca.status());
  absl::StatusOr<signet::EvpPkeyPtr> key = signet::fixtures::GenerateKey("EC:P-256");
  if (!key.ok()) return Fail(key.status());
  absl::StatusOr<signet::X509Ptr> certificate =
      ca->Issue(key->get(), "Bench Sender", "bench@example.org",
                {.key_usage = "critical,digitalSignature,keyAgreement"});
  if (!certificate.ok()) return Fail(certificate.status());
  absl::StatusOr<signet::cms::TrustStore> trust =
      signet::cms::TrustStore::FromCertificates({ca->certificate()});
  if (!trust.ok()) return Fail(trust.status());

  signet::cms::CmsContext context;
  context.limits.max_message_bytes = (mib + 16) << 20;
  const std::string mail = MakeMail(mib << 20, eightbit);
  const signet::cms::Signer signer{.key = key->get(), .certificate = certificate->get()};
  const std::vector<X509*> recipients = {certificate->get()};

  absl::StatusOr<std::string> signed_mail =
      signet::cms::SignMail(context, mail, signer, signet::cms::MailSignOptions{});
  if (!signed_mail.ok()) return Fail(signed_mail.status());
  absl::StatusOr<std::string> encrypted =
      signet::cms::EncryptMail(context, mail, recipients, signet::cms::EncryptOptions{});
  if (!encrypted.ok()) return Fail(encrypted.status());

  struct Case {
    const char* name;
    std::function<absl::Status()> run;
  };
  const std::vector<Case> cases = {
      {"sign",
       [&] {
         return signet::cms::SignMail(context, mail, signer, signet::cms::MailSignOptions{})
             .status();
       }},
      {"verify", [&] { return signet::cms::VerifyMail(context, *signed_mail, *trust).status(); }},
      {"encrypt",
       [&] {
         return signet::cms::EncryptMail(context, mail, recipients, signet::cms::EncryptOptions{})
             .status();
       }},
      {"decrypt",
       [&] {
         return signet::cms::DecryptMail(context, *encrypted,
                                         {.key = key->get(), .certificate = certificate->get()})
             .status();
       }},
  };
  const double size_mib = static_cast<double>(mail.size()) / (1 << 20);
  for (const Case& c : cases) {
    if (!only.empty() && only != c.name) continue;
    double best = 1e9;
    for (int run = 0; run < runs; ++run) {
      const double start = ThreadCpuSeconds();
      if (absl::Status status = c.run(); !status.ok()) return Fail(status);
      best = std::min(best, ThreadCpuSeconds() - start);
    }
    std::printf("%-8s %6.2f MiB%s: %8.2f ms CPU, %6.2f ms/MiB\n", c.name, size_mib,
                eightbit ? " 8bit" : "", best * 1e3, best * 1e3 / size_mib);
  }
  return 0;
}
