// What several benchmark parts send signetd: a statement of a given size,
// its SHA-256 (SignDigest's input), and the statement encrypted by signetd
// itself (DecryptMail's input).
#ifndef SIGNET_TESTS_BENCH_BENCH_MAIL_H_
#define SIGNET_TESTS_BENCH_BENCH_MAIL_H_

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace signet::bench {

// A text/plain statement from statements@bank.example of exactly `bytes`
// bytes (61-byte lines, then padding).
std::string BenchMail(size_t bytes);

// The raw SHA-256 of `data`.
std::string Sha256Of(const std::string& data);

// `mail` encrypted by signetd's EncryptMail to `certificate_pem` (PEM
// text), with signetd's default algorithms (AES-256-GCM, RSA-OAEP-SHA256).
absl::StatusOr<std::string> EncryptWithSignetd(const std::shared_ptr<grpc::Channel>& channel,
                                               const std::string& certificate_pem,
                                               const std::string& mail);

}  // namespace signet::bench

#endif  // SIGNET_TESTS_BENCH_BENCH_MAIL_H_
