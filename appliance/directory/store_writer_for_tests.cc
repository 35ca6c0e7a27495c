// Puts certificates into a directory store one at a time, as a stream of
// Publish calls would, and acknowledges each on stdout (its sha256_hex, a
// line flushed only after Put returned OK) so that a test may SIGKILL it
// anywhere and then check that every acknowledged certificate survived.
//
//   store_writer_for_tests STORE_PATH COUNT
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "appliance/directory/certificate_store.h"
#include "tests/fixtures/test_pki.h"

int main(int argc, char** argv) {
  using signet::directory::CertificateStore;
  if (argc != 3) {
    std::fprintf(stderr, "usage: store_writer_for_tests STORE_PATH COUNT\n");
    return 2;
  }
  const int count = std::atoi(argv[2]);
  auto store = CertificateStore::Open(argv[1]);
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    return 1;
  }
  auto ca = signet::fixtures::TestCa::Create("Store Writer CA");
  auto key = signet::fixtures::GenerateKey("EC:P-256");
  if (!ca.ok() || !key.ok()) {
    std::fprintf(stderr, "cannot make the CA or the key\n");
    return 1;
  }
  for (int i = 0; i < count; ++i) {
    const std::string address = absl::StrCat("writer-", i, "@example.org");
    auto certificate = ca->Issue(key->get(), absl::StrCat("Writer ", i), address);
    if (!certificate.ok()) {
      std::fprintf(stderr, "issue: %s\n", certificate.status().ToString().c_str());
      return 1;
    }
    auto der = signet::fixtures::ToDer(certificate->get());
    if (!der.ok()) return 1;
    auto stored = (*store)->Put({.der = *der});
    if (!stored.ok()) {
      std::fprintf(stderr, "put: %s\n", stored.status().ToString().c_str());
      return 1;
    }
    std::printf("%s\n", stored->sha256_hex.c_str());
    std::fflush(stdout);
  }
  return 0;
}
