// The three baselines, each on the same token and key as Signet: the raw
// module (the ceiling), libp11 + CMS_sign in process, and one openssl
// process per message.
#ifndef SIGNET_TESTS_BENCH_BASELINES_H_
#define SIGNET_TESTS_BENCH_BASELINES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/bench/bench_tokens.h"
#include "tests/bench/load_result.h"

namespace signet::bench {

struct KeyUnderTest {
  std::string token;      // token label
  std::string label;      // key CKA_LABEL
  std::string algorithm;  // "RSA-2048", "RSA-3072", "P-256"
};

// C_SignInit + C_Sign of a SHA-256 DigestInfo (RSA PKCS#1 v1.5) or digest
// (ECDSA), as Signet's provider asks the token; or, with decrypt, C_Decrypt
// of an RSA-OAEP-SHA256 key transport (CKM_RSA_X_509 on the same ciphertext
// when the module has no OAEP with SHA-256, as Signet then does). One
// session per worker, handles found before the clock starts. Each
// concurrency gets its own result, in order.
absl::StatusOr<std::vector<LoadResult>> RunRaw(BenchTokens& tokens, const KeyUnderTest& key,
                                               bool decrypt, const std::vector<int>& concurrency,
                                               const Timing& timing,
                                               std::string* mechanism_used = nullptr);

absl::StatusOr<std::vector<LoadResult>> RunLibp11(BenchTokens& tokens, const KeyUnderTest& key,
                                                  const std::string& mail,
                                                  const std::vector<int>& concurrency,
                                                  const Timing& timing);

absl::StatusOr<std::vector<LoadResult>> RunOpensslCli(BenchTokens& tokens, const KeyUnderTest& key,
                                                      const std::string& mail_path,
                                                      const std::vector<int>& concurrency,
                                                      const Timing& timing);

}  // namespace signet::bench

#endif  // SIGNET_TESTS_BENCH_BASELINES_H_
