#include "appliance/dev/dev_environment.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "appliance/dev/demo_ca.h"
#include "appliance/dev/dev_config.h"
#include "appliance/dev/private_file.h"
#include "common/log.h"
#include "common/openssl_error.h"
#include "common/status_macros.h"
#include "tokens/keys/keygen.h"
#include "tokens/keys/token_key.h"
#include "tokens/module.h"
#include "tokens/pin_source.h"
#include "tokens/provider/provider.h"
#include "tokens/token.h"
#include "tokens/token_init.h"

namespace signet::dev {
namespace {

constexpr absl::Duration kTokenTimeout = absl::Seconds(60);
constexpr char kCaLabel[] = "demo-ca";

struct DemoKey {
  std::string label;
  KeyAlgorithm algorithm;
  KeyPurpose purpose;
  CertificateSpec certificate;
};

std::vector<DemoKey> DemoKeys() {
  return {
      {kCaLabel,
       KeyAlgorithm::kEcP256,
       KeyPurpose::kSign,
       {.common_name = "Signet Demo CA",
        .organization = "Signet Demo",
        .role = CertificateRole::kCa,
        .validity = absl::Hours(24 * 365 * 10)}},
      {"bank-signing", KeyAlgorithm::kEcP256, KeyPurpose::kSign,
       CertificateSpec{.common_name = "Example Bank Statements",
                       .organization = "Example Bank",
                       .role = CertificateRole::kMailSigning,
                       .emails = {"statements@bank.example"}}},
      {"bank-decryption", KeyAlgorithm::kRsa2048, KeyPurpose::kDecrypt,
       CertificateSpec{.common_name = "Example Bank Secure Mail",
                       .organization = "Example Bank",
                       .role = CertificateRole::kMailDecryption,
                       .emails = {"secure@bank.example"}}},
      {"customer-decryption", KeyAlgorithm::kRsa2048, KeyPurpose::kDecrypt,
       CertificateSpec{.common_name = "Demo Customer",
                       .role = CertificateRole::kMailDecryption,
                       .emails = {"customer@example.com"}}},
      {"audit", KeyAlgorithm::kEcP256, KeyPurpose::kSign,
       CertificateSpec{.common_name = "Signet Demo Audit Checkpoints",
                       .organization = "Signet Demo",
                       .role = CertificateRole::kCheckpoints}},
      // Added after the others: a dev directory from before it gets the key
      // generated and certified at its next start.
      {"tsa", KeyAlgorithm::kEcP256, KeyPurpose::kSign,
       CertificateSpec{.common_name = "Signet Demo TSA",
                       .organization = "Signet Demo",
                       .role = CertificateRole::kTimeStamping}},
  };
}

// 96 random bits as 24 hex digits, built in a SecretString so no ordinary
// string ever holds them.
absl::StatusOr<SecretString> RandomPin() {
  unsigned char bytes[12];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return OpenSslError("no random bytes for a PIN");
  static constexpr char kHex[] = "0123456789abcdef";
  SecretString pin;
  for (unsigned char byte : bytes) {
    const char digits[2] = {kHex[byte >> 4], kHex[byte & 0xf]};
    pin.Append(std::string_view(digits, 2));
  }
  OPENSSL_cleanse(bytes, sizeof(bytes));
  return pin;
}

absl::Status WritePinFile(const std::string& path, const SecretString& pin) {
  SecretString line = pin;
  line.Append("\n");
  const std::string_view text = line.ExposeAsText();
  return WriteFileAtomically(path, absl::string_view(text.data(), text.size()), 0600);
}

// Initialises the token unless it exists. The PINs are written first, so a
// token is never left with PINs nobody knows.
absl::Status EnsureToken(const Module& module, const std::string& dir) {
  TokenSelector selector;
  selector.label = kDevTokenLabel;
  const std::string user_pin_file = dir + "/user.pin";
  if (FindToken(module, selector).ok()) {
    if (!FileExists(user_pin_file)) {
      return absl::FailedPreconditionError(
          absl::StrCat("token '", kDevTokenLabel, "' exists in ", dir, "/softhsm but ",
                       user_pin_file, " is missing; remove ", dir, " to start over"));
    }
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(SecretString so_pin, RandomPin());
  ASSIGN_OR_RETURN(SecretString user_pin, RandomPin());
  RETURN_IF_ERROR(WritePinFile(dir + "/so.pin", so_pin));
  RETURN_IF_ERROR(WritePinFile(user_pin_file, user_pin));
  Log(LogLevel::kInfo, absl::StrCat("dev: creating token '", kDevTokenLabel, "' in ", dir,
                                    "/softhsm (PINs in ", dir, "/user.pin and so.pin)"));
  return InitializeToken(module, kDevTokenLabel, so_pin, user_pin).status();
}

// The demo keys by label, for the provider that signs certificates with the
// demo CA's token key.
class DemoKeyResolver : public provider::KeyResolver {
 public:
  absl::StatusOr<std::shared_ptr<TokenKey>> Resolve(absl::string_view reference) override {
    auto key = keys_.find(reference);
    if (key == keys_.end()) return absl::NotFoundError(absl::StrCat("no demo key ", reference));
    return key->second;
  }
  void Add(std::shared_ptr<TokenKey> key) { keys_[key->label()] = std::move(key); }
  const std::shared_ptr<TokenKey>& Get(const std::string& label) { return keys_.at(label); }

 private:
  std::map<std::string, std::shared_ptr<TokenKey>, std::less<>> keys_;
};

absl::StatusOr<std::shared_ptr<TokenKey>> EnsureKey(const std::shared_ptr<Token>& token,
                                                    const DemoKey& demo) {
  absl::StatusOr<std::shared_ptr<TokenKey>> key = TokenKey::Load(
      token, KeySelector::ByLabel(demo.label), KeyPolicy{}, absl::Now() + kTokenTimeout);
  if (key.ok() || key.status().code() != absl::StatusCode::kNotFound) return key;
  Log(LogLevel::kInfo, absl::StrCat("dev: generating key '", demo.label, "' on the token"));
  return GenerateKeyPair(
      token, KeyGenSpec{.label = demo.label, .algorithm = demo.algorithm, .purpose = demo.purpose},
      absl::Now() + kTokenTimeout);
}

// A certificate is kept while the current CA issued it and it is in date.
bool StillGood(X509* certificate, X509* ca) {
  return certificate != nullptr && X509_check_issued(ca, certificate) == X509_V_OK &&
         X509_cmp_current_time(X509_get0_notAfter(certificate)) > 0;
}

absl::StatusOr<X509Ptr> ReadCertificateFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, ReadWholeFile(path));
  BioPtr bio = ReadBio(pem);
  X509Ptr certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!certificate) return OpenSslError(absl::StrCat("cannot parse ", path));
  return certificate;
}

absl::Status WriteCertificate(const std::string& path, X509* certificate) {
  ASSIGN_OR_RETURN(std::string pem, CertificatePem(certificate));
  return WriteFileAtomically(path, pem, 0644);
}

absl::Status WritePublicKey(const std::string& path, EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key) != 1) return OpenSslError("cannot write PEM");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return WriteFileAtomically(path, absl::string_view(data, static_cast<size_t>(size)), 0644);
}

// The demo CA's certificate, and every demo key's, on the token and in
// DIR/ca.pem and DIR/certs/.
absl::StatusOr<X509Ptr> EnsureMailCertificates(DemoKeyResolver& keys, EVP_PKEY* ca_key,
                                               const std::string& dir) {
  const std::vector<DemoKey> demo_keys = DemoKeys();
  const std::shared_ptr<TokenKey>& ca_token_key = keys.Get(kCaLabel);
  X509Ptr ca = ca_token_key->certificate();
  if (!ca || X509_cmp_current_time(X509_get0_notAfter(ca.get())) <= 0) {
    ASSIGN_OR_RETURN(X509Ptr issued, IssueCertificate(demo_keys.front().certificate,
                                                      ca_token_key->public_key(), nullptr, ca_key));
    RETURN_IF_ERROR(StoreCertificate(*ca_token_key, issued.get(), absl::Now() + kTokenTimeout));
    ca = std::move(issued);
  }
  RETURN_IF_ERROR(WriteCertificate(dir + "/ca.pem", ca.get()));
  for (const DemoKey& demo : demo_keys) {
    if (demo.label == kCaLabel) continue;
    const std::shared_ptr<TokenKey>& key = keys.Get(demo.label);
    X509Ptr certificate = key->certificate();
    if (!StillGood(certificate.get(), ca.get())) {
      ASSIGN_OR_RETURN(X509Ptr issued,
                       IssueCertificate(demo.certificate, key->public_key(), ca.get(), ca_key));
      RETURN_IF_ERROR(StoreCertificate(*key, issued.get(), absl::Now() + kTokenTimeout));
      certificate = std::move(issued);
    }
    RETURN_IF_ERROR(
        WriteCertificate(absl::StrCat(dir, "/certs/", demo.label, ".pem"), certificate.get()));
  }
  return ca;
}

// A software key and certificate for the loopback TLS listener or its
// client, unless the ones in DIR/tls are still good.
absl::Status EnsureTlsPair(const std::string& base, const CertificateSpec& spec, X509* ca,
                           EVP_PKEY* ca_key) {
  const std::string certificate_file = base + ".pem";
  const std::string key_file = base + ".key";
  if (FileExists(key_file)) {
    absl::StatusOr<X509Ptr> existing = ReadCertificateFile(certificate_file);
    if (existing.ok() && StillGood(existing->get(), ca)) return absl::OkStatus();
  }
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return OpenSslError("cannot generate a TLS key");
  ASSIGN_OR_RETURN(X509Ptr certificate, IssueCertificate(spec, key.get(), ca, ca_key));
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslError("cannot write the TLS key");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  RETURN_IF_ERROR(
      WriteFileAtomically(key_file, absl::string_view(data, static_cast<size_t>(size)), 0600));
  return WriteCertificate(certificate_file, certificate.get());
}

absl::Status EnsureKeysAndCertificates(const std::shared_ptr<Module>& module,
                                       const std::string& dir) {
  TokenOptions token_options;
  token_options.name = "dev";
  token_options.selector.label = kDevTokenLabel;
  token_options.pin_source = std::make_shared<FilePinSource>(dir + "/user.pin");
  ASSIGN_OR_RETURN(std::shared_ptr<Token> token, Token::Open(module, token_options));
  RETURN_IF_ERROR(token->Rescan());

  auto keys = std::make_shared<DemoKeyResolver>();
  for (const DemoKey& demo : DemoKeys()) {
    ASSIGN_OR_RETURN(std::shared_ptr<TokenKey> key, EnsureKey(token, demo));
    keys->Add(std::move(key));
  }
  RETURN_IF_ERROR(WritePublicKey(dir + "/audit-key.pem", keys->Get("audit")->public_key()));

  // Declared in this order so that they are freed in the order the provider
  // needs: the CA key, the providers, the library context.
  LibCtxPtr libctx(OSSL_LIB_CTX_new());
  if (!libctx) return OpenSslError("cannot make a library context");
  ASSIGN_OR_RETURN(std::unique_ptr<provider::LoadedProviders> providers,
                   provider::RegisterBuiltinProvider(libctx.get(), keys));
  ASSIGN_OR_RETURN(EvpPkeyPtr ca_key, provider::LoadTokenKey(libctx.get(), kCaLabel));

  ASSIGN_OR_RETURN(X509Ptr ca, EnsureMailCertificates(*keys, ca_key.get(), dir));
  RETURN_IF_ERROR(EnsureTlsPair(dir + "/tls/server",
                                {.common_name = "localhost",
                                 .organization = "Signet Demo",
                                 .role = CertificateRole::kTlsServer,
                                 .dns_names = {"localhost"},
                                 .ip_addresses = {"127.0.0.1", "::1"}},
                                ca.get(), ca_key.get()));
  return EnsureTlsPair(dir + "/tls/client",
                       {.common_name = "signet-dev-client",
                        .organization = "Signet Demo",
                        .role = CertificateRole::kTlsClient},
                       ca.get(), ca_key.get());
}

}  // namespace

absl::StatusOr<config::v1::Config> PrepareDevEnvironment(const DevOptions& options) {
  if (options.dir.empty()) return absl::InvalidArgumentError("--dev needs a directory");
  std::error_code error;
  std::string dir = std::filesystem::absolute(options.dir, error).lexically_normal().string();
  if (error) return absl::InvalidArgumentError(absl::StrCat("bad directory ", options.dir));
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  for (const std::string& sub : {dir, dir + "/softhsm/tokens", dir + "/certs", dir + "/tls"}) {
    RETURN_IF_ERROR(MakeDirectory(sub, 0700));
  }
  const std::string softhsm_conf = dir + "/softhsm/softhsm2.conf";
  // Written at every start, so that a moved directory still finds its token.
  RETURN_IF_ERROR(WriteFileAtomically(softhsm_conf, SoftHsmConf(dir + "/softhsm/tokens"), 0600));
  setenv("SOFTHSM2_CONF", softhsm_conf.c_str(), /*overwrite=*/1);
  {
    ASSIGN_OR_RETURN(std::shared_ptr<Module> module, Module::Load(options.module_path));
    RETURN_IF_ERROR(EnsureToken(*module, dir));
    RETURN_IF_ERROR(EnsureKeysAndCertificates(module, dir));
  }
  ASSIGN_OR_RETURN(config::v1::Config config, DevConfig({.dir = dir,
                                                         .module_path = options.module_path,
                                                         .tcp_address = options.tcp_address,
                                                         .tsa_address = options.tsa_address,
                                                         .uid = options.uid}));
  RETURN_IF_ERROR(
      WriteFileAtomically(dir + "/signetd.textproto", DevConfigText(config, dir), 0600));
  return config;
}

}  // namespace signet::dev
