#include "tests/bench/bench_daemon.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "tests/fixtures/read_file.h"

namespace signet::bench {
namespace {

std::string TokenConfig(const std::string& name, const std::string& module, int max_in_flight) {
  // A queue deep enough for every bench client: RESOURCE_EXHAUSTED would
  // measure the refusal, not the signing.
  return absl::StrCat("tokens { name: \"", name, "\" module: \"", module, "\" label: \"", name,
                      "\" pin { file: \"$DIR/user.pin\" } max_in_flight: ", max_in_flight,
                      " max_queue: 4096 }\n");
}

std::string KeyConfig(const std::string& name, const std::string& token, const std::string& label,
                      const char* purpose, const BenchTokens& tokens) {
  return absl::StrCat("keys { name: \"", name, "\" token: \"", token, "\" label: \"", label,
                      "\" purpose: ", purpose, " certificate_chain_file: \"",
                      tokens.CertificatePath(token, label), "\" allow_imported: true }\n");
}

std::string MainConfig(const BenchTokens& tokens, const DaemonOptions& options) {
  std::string config =
      absl::StrCat("listeners { unix { path: \"$DIR/", options.name, ".sock\" } }\n");
  if (options.tcp_port != 0) {
    absl::StrAppend(&config, "listeners { tcp { address: \"127.0.0.1:", options.tcp_port,
                    "\" certificate_file: \"$DIR/server.pem\" private_key_file: "
                    "\"$DIR/server.key\" client_ca_file: \"$DIR/ca.pem\" } }\n");
  }
  absl::StrAppend(&config, TokenConfig("bench", options.module_path, options.max_in_flight));
  for (const char* key : {"rsa2048", "rsa3072", "p256", "audit"}) {
    absl::StrAppend(&config, KeyConfig(key, "bench", key, "SIGN", tokens));
  }
  absl::StrAppend(
      &config, KeyConfig("decrypt", "bench", "decrypt", "DECRYPT", tokens), "audit { path: \"$DIR/",
      options.name, "-audit.log\" checkpoint_key: \"audit\"",
      // Only when set: a signetd from before the field must still start.
      options.audit_group_commit_window_micros == 0
          ? ""
          : absl::StrCat(" group_commit_window_microseconds: ",
                         options.audit_group_commit_window_micros),
      " }\n"
      "trust_anchors_file: \"$DIR/ca.pem\"\n"
      "callers { name: \"bench-local\" unix_uid: $UID\n"
      "  grants { keys: [\"rsa2048\", \"rsa3072\", \"p256\"]\n"
      "           operations: [SIGN_MAIL, SIGN_DIGEST] }\n"
      "  grants { keys: \"decrypt\" operations: DECRYPT_MAIL }\n"
      "  grants { operations: [ENCRYPT_MAIL, VERIFY_MAIL] }\n"
      "  grants { keys: \"*\" operations: READ_KEYS } }\n"
      "callers { name: \"bench-tcp\" certificate_subject: \"CN=bench-client\"\n"
      "  grants { keys: [\"rsa2048\", \"rsa3072\", \"p256\"] operations: SIGN_MAIL } }\n",
      options.extra_config, "\n");
  return config;
}

// The same daemon over the token with 10,000 objects.
std::string ManyConfig(const BenchTokens& tokens, const DaemonOptions& options) {
  return absl::StrCat("listeners { unix { path: \"$DIR/many.sock\" } }\n",
                      TokenConfig("bench-many", options.module_path, options.max_in_flight),
                      KeyConfig("rsa2048", "bench-many", "rsa2048", "SIGN", tokens),
                      KeyConfig("audit", "bench-many", "audit", "SIGN", tokens),
                      "audit { path: \"$DIR/many-audit.log\" checkpoint_key: \"audit\" }\n"
                      "trust_anchors_file: \"$DIR/ca.pem\"\n"
                      "callers { name: \"bench-local\" unix_uid: $UID\n"
                      "  grants { keys: \"rsa2048\" operations: [SIGN_MAIL, SIGN_DIGEST] }\n"
                      "  grants { keys: \"*\" operations: READ_KEYS } }\n");
}

std::string LatencyConfig(const BenchTokens& tokens, const DaemonOptions& options) {
  std::string config = "listeners { unix { path: \"$DIR/latency.sock\" } }\n";
  std::string grants;
  for (int i = 0; i < kLatencyTokens; ++i) {
    const std::string token = absl::StrCat("lat-", i);
    absl::StrAppend(&config, TokenConfig(token, options.module_path, 1),
                    KeyConfig(token, token, "p256", "SIGN", tokens));
    absl::StrAppend(&grants, i == 0 ? "" : ", ", "\"", token, "\"");
  }
  absl::StrAppend(&config, KeyConfig("lat-audit", "lat-0", "audit", "SIGN", tokens),
                  "audit { path: \"$DIR/latency-audit.log\" checkpoint_key: \"lat-audit\" }\n"
                  "trust_anchors_file: \"$DIR/ca.pem\"\n"
                  "callers { name: \"bench-local\" unix_uid: $UID\n"
                  "  grants { keys: [",
                  grants,
                  "] operations: [SIGN_MAIL, SIGN_DIGEST] }\n"
                  "  grants { keys: \"*\" operations: READ_KEYS } }\n");
  return config;
}

// signetd as its own TSA. The clock check is off: a bench machine need not
// run a time daemon, and ntp_adjtime per stamp is not what is measured.
// p256 stamps only when a call asks (SignOptions.timestamp), so stamped and
// unstamped SignMail run on the same daemon and key; its stamps come from
// this daemon's own HTTP listener, as a local TSA would serve them.
std::string TsaConfig(const BenchTokens& tokens, const DaemonOptions& options) {
  const std::string stamping =
      absl::StrCat("timestamps { tsa_urls: \"http://127.0.0.1:", options.tsa_http_port,
                   "/\" mode: TIMESTAMP_REQUIRED tsa_trust_anchors_file: \"$DIR/ca.pem\" }");
  std::string p256 = KeyConfig("p256", "bench", "p256", "SIGN", tokens);
  p256.insert(p256.rfind('}'), stamping + " ");
  return absl::StrCat(
      "listeners { unix { path: \"$DIR/tsa.sock\" } }\n",
      TokenConfig("bench", options.module_path, options.max_in_flight), p256,
      KeyConfig("tsa", "bench", "tsa", "SIGN", tokens),
      KeyConfig("audit", "bench", "audit", "SIGN", tokens),
      "timestamp_authority { key: \"tsa\" http_address: \"127.0.0.1:", options.tsa_http_port,
      "\" policies: \"1.3.6.1.4.1.99999.17.1\" accuracy_seconds: 1 include_tsa_name: true "
      "serial_file: \"$DIR/tsa.serial\" allow_unsynchronized_clock: true }\n"
      "audit { path: \"$DIR/tsa-audit.log\" checkpoint_key: \"audit\" }\n"
      "trust_anchors_file: \"$DIR/ca.pem\"\n"
      "callers { name: \"bench-local\" unix_uid: $UID\n"
      "  grants { keys: \"p256\" operations: SIGN_MAIL }\n"
      "  grants { operations: TIMESTAMP }\n"
      "  grants { keys: \"*\" operations: READ_KEYS } }\n");
}

// A daemon that only verifies: no token, no key, so no audit log.
std::string VerifyConfig(const DaemonOptions& options) {
  return absl::StrCat("listeners { unix { path: \"$DIR/", options.name, ".sock\" } }\n",
                      "trust_anchors_file: \"", options.trust_anchors_file, "\"\n",
                      "callers { name: \"bench-local\" unix_uid: $UID\n"
                      "  grants { operations: VERIFY_MAIL } }\n",
                      options.extra_config, "\n");
}

// A daemon that encrypts to the directory's certificates: no token, no key,
// so no audit log (neither EncryptMail nor Lookup is audited).
std::string DirectoryConfig(const DaemonOptions& options) {
  return absl::StrCat("listeners { unix { path: \"$DIR/directory.sock\" } }\n",
                      "validation { recipient_trust_anchors_file: \"", options.trust_anchors_file,
                      "\" revocation: REVOCATION_OFF }\n", "directory { store_path: \"",
                      options.store_path, "\" }\n",
                      "callers { name: \"bench-local\" unix_uid: $UID\n"
                      "  grants { operations: [ENCRYPT_MAIL, LOOKUP_CERTIFICATES] } }\n",
                      options.extra_config, "\n");
}

absl::Status IssueTlsPair(fixtures::TestCa& ca, const std::string& common_name,
                          fixtures::IssueOptions options, const std::string& base) {
  absl::StatusOr<EvpPkeyPtr> key = fixtures::GenerateKey("EC:P-256");
  if (!key.ok()) return key.status();
  absl::StatusOr<X509Ptr> certificate = ca.Issue(key->get(), common_name, "", options);
  if (!certificate.ok()) return certificate.status();
  if (absl::Status s = fixtures::WritePem(base + ".pem", certificate->get()); !s.ok()) return s;
  return fixtures::WritePrivateKeyPem(base + ".key", key->get());
}

}  // namespace

absl::Status WriteTlsFiles(BenchTokens& tokens) {
  if (absl::Status s = IssueTlsPair(
          tokens.ca(), "signetd",
          {.extended_key_usage = "serverAuth", .subject_alt_name = "DNS:localhost,IP:127.0.0.1"},
          tokens.File("server"));
      !s.ok()) {
    return s;
  }
  return IssueTlsPair(tokens.ca(), "bench-client", {.extended_key_usage = "clientAuth"},
                      tokens.File("client"));
}

absl::StatusOr<std::unique_ptr<BenchDaemon>> BenchDaemon::Start(BenchTokens& tokens,
                                                                const DaemonOptions& options) {
  const bool on_bench =
      options.name == "main" || options.name == "overhead" || options.name == "tsa";
  const fixtures::SoftHsm& hsm = tokens.HsmOf(on_bench ? "bench" : "bench-many");
  const std::string text = absl::StrReplaceAll(
      options.name == "main" || options.name == "overhead" ? MainConfig(tokens, options)
      : options.name == "tsa"                              ? TsaConfig(tokens, options)
      : options.name == "many"                             ? ManyConfig(tokens, options)
      : options.name == "directory"                        ? DirectoryConfig(options)
      : absl::StartsWith(options.name, "verify")           ? VerifyConfig(options)
                                                           : LatencyConfig(tokens, options),
      {{"$DIR", tokens.dir()}, {"$UID", std::to_string(getuid())}});
  const std::string config_path = tokens.File(options.name + ".textproto");
  { std::ofstream(config_path) << text; }
  const std::string log = tokens.File(options.name + ".log");
  std::vector<std::string> environment = options.environment;
  environment.push_back(hsm.EnvVar());
  absl::StatusOr<std::unique_ptr<fixtures::ChildProcess>> process = fixtures::ChildProcess::Spawn(
      {options.signetd_path, "--config", config_path}, environment, log);
  if (!process.ok()) return process.status();
  std::unique_ptr<BenchDaemon> daemon(
      new BenchDaemon(std::move(*process), tokens.File(options.name + ".sock"), log));
  // Start-up finds the keys among 10,000 objects and signs the audit log's
  // first checkpoint (50 ms late on the latency tokens).
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  while (!absl::StrContains(daemon->Log(), "signetd: serving")) {
    if (std::optional<int> code = daemon->process_->TryWait(); code.has_value()) {
      return absl::FailedPreconditionError(
          absl::StrCat("signetd ", options.name, " exited with ", *code, ": ", daemon->Log()));
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat("signetd ", options.name, " did not serve"));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return daemon;
}

std::string BenchDaemon::Log() const { return fixtures::ReadFile(log_); }

}  // namespace signet::bench
