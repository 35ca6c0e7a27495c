#include "tests/bench/bench_tokens.h"

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/bench/raw_pkcs11.h"
#include "tests/fixtures/random_pin.h"

namespace signet::bench {
namespace {

using fixtures::KeySpec;
using fixtures::RandomPin;

struct TokenPlan {
  std::string label;
  std::vector<KeySpec> keys;
};

std::vector<TokenPlan> Plan() {
  std::vector<TokenPlan> plan = {
      {"bench",
       {{.label = "rsa2048", .id_hex = "01", .key_type = "rsa:2048"},
        {.label = "rsa3072", .id_hex = "02", .key_type = "rsa:3072"},
        {.label = "p256", .id_hex = "03", .key_type = "EC:prime256v1"},
        {.label = "decrypt",
         .id_hex = "04",
         .key_type = "rsa:2048",
         .usage = KeySpec::Usage::kDecrypt},
        {.label = "audit", .id_hex = "05", .key_type = "EC:prime256v1"},
        {.label = "tsa", .id_hex = "06", .key_type = "EC:prime256v1"}}},
      {"bench-many",
       {{.label = "rsa2048", .id_hex = "01", .key_type = "rsa:2048"},
        {.label = "audit", .id_hex = "02", .key_type = "EC:prime256v1"}}},
  };
  for (int i = 0; i < kLatencyTokens; ++i) {
    TokenPlan& token = plan.emplace_back();
    token.label = absl::StrCat("lat-", i);
    token.keys.push_back({.label = "p256", .id_hex = "01", .key_type = "EC:prime256v1"});
    if (i == 0)
      token.keys.push_back({.label = "audit", .id_hex = "02", .key_type = "EC:prime256v1"});
  }
  return plan;
}

// signetd refuses a TSA key whose certificate lacks timeStamping, marked
// critical (RFC 3161 section 2.3).
std::string ExtendedKeyUsage(const std::string& label) {
  return label == "tsa" ? "critical,timeStamping" : fixtures::IssueOptions().extended_key_usage;
}

EvpPkeyPtr PublicKeyFromPem(const std::string& pem) {
  BioPtr bio = ReadBio(pem);
  return EvpPkeyPtr(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
}

}  // namespace

void UseInstallation(fixtures::SoftHsm& hsm) {
  setenv("SOFTHSM2_CONF", hsm.conf_path().c_str(), 1);
}

absl::StatusOr<std::unique_ptr<BenchTokens>> BenchTokens::Create(bool fill_many) {
  absl::StatusOr<std::unique_ptr<fixtures::SoftHsm>> hsm = fixtures::SoftHsm::Create();
  if (!hsm.ok()) return hsm.status();
  absl::StatusOr<std::unique_ptr<fixtures::SoftHsm>> many_hsm = fixtures::SoftHsm::Create();
  if (!many_hsm.ok()) return many_hsm.status();
  absl::StatusOr<fixtures::TempDir> dir = fixtures::TempDir::Create("signet-bench");
  if (!dir.ok()) return dir.status();
  absl::StatusOr<fixtures::TestCa> ca = fixtures::TestCa::Create("Bench CA");
  if (!ca.ok()) return ca.status();
  std::unique_ptr<BenchTokens> tokens(
      new BenchTokens(std::move(*hsm), std::move(*many_hsm), std::move(*dir), std::move(*ca)));
  tokens->pin_ = RandomPin();
  { std::ofstream(tokens->pin_file()) << tokens->pin_ << "\n"; }
  chmod(tokens->pin_file().c_str(), 0600);
  if (absl::Status s = fixtures::WritePem(tokens->ca_path(), tokens->ca_.certificate()); !s.ok()) {
    return s;
  }
  for (const TokenPlan& plan : Plan()) {
    absl::StatusOr<fixtures::TokenInfo> token =
        tokens->HsmOf(plan.label).InitTokenWithKeys(plan.label, plan.keys, tokens->pin_);
    if (!token.ok()) return token.status();
    for (const KeySpec& key : plan.keys) {
      absl::StatusOr<std::string> pem =
          tokens->HsmOf(plan.label).ExportPublicKeyPem(*token, key.id_hex);
      if (!pem.ok()) return pem.status();
      EvpPkeyPtr public_key = PublicKeyFromPem(*pem);
      if (!public_key) return absl::InternalError("a public key does not parse");
      absl::StatusOr<X509Ptr> certificate =
          tokens->ca_.Issue(public_key.get(), absl::StrCat("Bench ", plan.label, " ", key.label),
                            "statements@bank.example",
                            {.for_encryption = key.usage == KeySpec::Usage::kDecrypt,
                             .extended_key_usage = ExtendedKeyUsage(key.label)});
      if (!certificate.ok()) return certificate.status();
      if (absl::Status s = fixtures::WritePem(tokens->CertificatePath(plan.label, key.label),
                                              certificate->get());
          !s.ok()) {
        return s;
      }
    }
  }
  // The many-objects token: data objects up to kManyObjects in all, made in
  // process (a pkcs11-tool run per object would take minutes).
  if (!fill_many) return tokens;
  UseInstallation(tokens->many_hsm());
  absl::StatusOr<std::unique_ptr<RawModule>> module =
      RawModule::Open(fixtures::SoftHsm::ModulePath(), "bench-many", tokens->pin_);
  if (!module.ok()) return module.status();
  absl::StatusOr<std::unique_ptr<RawSession>> session = (*module)->OpenSession();
  if (!session.ok()) return session.status();
  absl::StatusOr<size_t> present = (*session)->CountObjects();
  if (!present.ok()) return present.status();
  if (absl::Status s = (*session)->CreateDataObjects(kManyObjects - *present); !s.ok()) return s;
  return tokens;
}

}  // namespace signet::bench
