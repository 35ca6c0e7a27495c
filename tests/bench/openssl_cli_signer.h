// The per-message peer: what a bank's script does today — one
// `openssl cms -sign -engine pkcs11` process per mail, the key named by a
// pkcs11: URI through libp11's engine.
#ifndef SIGNET_TESTS_BENCH_OPENSSL_CLI_SIGNER_H_
#define SIGNET_TESTS_BENCH_OPENSSL_CLI_SIGNER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace signet::bench {

struct OpensslCliSigner {
  std::string module_path;
  std::string token_label;
  std::string key_label;
  // The PIN goes into the URI's pin-value, as such scripts do; it is never
  // part of an error message.
  std::string pin;
  std::string certificate_path;
  std::string mail_path;
  // SOFTHSM2_CONF=..., for the child.
  std::vector<std::string> environment;

  // Runs one signing process to completion; its output is discarded. Run
  // in parallel, some of these processes fail to use the token (libp11
  // reports "Failed to enumerate slots", "Login failed" or "No matching
  // initialized token"), then die of SIGSEGV in exit-time cleanup
  // (OPENSSL_cleanup -> libp11's engine -> SoftHSM's C_CloseAllSessions):
  // such a run is an error, not a signed message.
  absl::Status SignOnce() const;
};

}  // namespace signet::bench

#endif  // SIGNET_TESTS_BENCH_OPENSSL_CLI_SIGNER_H_
