// The tokens every run measures, made fresh with the test fixtures
// (pkcs11-tool for keys, TestCa for certificates), in two SoftHSM2
// installations:
//  - hsm(): "bench" alone: rsa2048, rsa3072, p256 (signing), decrypt
//    (RSA-2048), audit (P-256) and tsa (P-256, certificate with the
//    timeStamping usage, for signetd's TSA), twelve objects in all;
//  - many_hsm(): "bench-many": rsa2048 and audit among data objects, 10,000
//    objects in all; and "lat-0" .. "lat-7": p256 each (lat-0 also audit),
//    for the run where a fault-injecting module makes every C_Sign take
//    50 ms.
// "bench" has an installation of its own for the per-message peer: SoftHSM
// reads every object of every token in C_Initialize, so 10,000 objects
// beside it made each `openssl cms` process about twenty times slower
// (about 400 ms a message instead of 15-20 ms, measured).
// One user PIN for all, in pin_file() (0600). Certificates:
// CertificatePath(token, key), issued by ca() (ca_path()).
#ifndef SIGNET_TESTS_BENCH_BENCH_TOKENS_H_
#define SIGNET_TESTS_BENCH_BENCH_TOKENS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "tests/fixtures/softhsm.h"
#include "tests/fixtures/temp_dir.h"
#include "tests/fixtures/test_pki.h"

namespace signet::bench {

inline constexpr int kLatencyTokens = 8;
inline constexpr size_t kManyObjects = 10000;

class BenchTokens {
 public:
  // fill_many false: bench-many keeps its keys alone (for parts that do
  // not use it; the 10,000 objects take minutes on a busy machine).
  static absl::StatusOr<std::unique_ptr<BenchTokens>> Create(bool fill_many = true);

  fixtures::SoftHsm& hsm() { return *hsm_; }
  fixtures::SoftHsm& many_hsm() { return *many_hsm_; }
  // The installation that holds this token.
  fixtures::SoftHsm& HsmOf(const std::string& token) {
    return token == "bench" ? *hsm_ : *many_hsm_;
  }
  const std::string& dir() const { return dir_.path(); }
  std::string File(const std::string& name) const { return dir_.File(name); }
  const std::string& pin() const { return pin_; }
  std::string pin_file() const { return dir_.File("user.pin"); }
  std::string ca_path() const { return dir_.File("ca.pem"); }
  fixtures::TestCa& ca() { return ca_; }
  std::string CertificatePath(const std::string& token, const std::string& key) const {
    return dir_.File(token + "." + key + ".pem");
  }

 private:
  BenchTokens(std::unique_ptr<fixtures::SoftHsm> hsm, std::unique_ptr<fixtures::SoftHsm> many_hsm,
              fixtures::TempDir dir, fixtures::TestCa ca)
      : hsm_(std::move(hsm)),
        many_hsm_(std::move(many_hsm)),
        dir_(std::move(dir)),
        ca_(std::move(ca)) {}

  // In this order: each SoftHsm restores the SOFTHSM2_CONF it found when it
  // goes, so the second made must go first.
  std::unique_ptr<fixtures::SoftHsm> hsm_;
  std::unique_ptr<fixtures::SoftHsm> many_hsm_;
  fixtures::TempDir dir_;
  fixtures::TestCa ca_;
  std::string pin_;
};

// Points SOFTHSM2_CONF at `hsm` for the next in-process C_Initialize of
// SoftHSM (raw and libp11 baselines): one installation at a time.
void UseInstallation(fixtures::SoftHsm& hsm);

}  // namespace signet::bench

#endif  // SIGNET_TESTS_BENCH_BENCH_TOKENS_H_
