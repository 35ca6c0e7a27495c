// The provider as a loadable module (signet.so) in the real openssl command
// line: token keys named by pkcs11: URIs sign CMS messages and digests and
// decrypt CMS messages, and the results are checked by plain openssl without
// the provider. The test process never loads the PKCS#11 module itself: every
// token operation happens in an openssl child.
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/sha.h>
#include <openssl/store.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/ossl_ptr.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/cms_verifiers.h"
#include "tests/fixtures/softhsm.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/subprocess.h"
#include "tests/fixtures/temp_dir.h"
#include "tests/fixtures/test_pki.h"
#include "tests/fixtures/token_env.h"
#include "tokens/keys/token_key.h"
#include "tokens/module.h"
#include "tokens/provider/provider.h"
#include "tokens/provider/uri_key_resolver.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;

using fixtures::CommandResult;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kModuleDir[] = SIGNET_PROVIDER_MODULE_DIR;
constexpr char kTokenLabel[] = "signet-cli";
// Distinctive, so that finding them in any output means a leak.
constexpr char kUserPin[] = "pin-7351-9208";
constexpr char kWrongPin[] = "wrong-4419-6602";

struct TestKey {
  std::string label;
  std::string id_hex;
  std::string key_type;
  bool decrypt = false;
};

const TestKey kRsaSign{"rsa-sign", "01", "rsa:2048"};
const TestKey kEcSign{"p256-sign", "02", "EC:prime256v1"};
const TestKey kRsaDecrypt{"rsa-dec", "03", "rsa:2048", /*decrypt=*/true};

void WriteFile(const std::string& path, const std::string& contents, mode_t mode = 0644) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  f.close();
  ASSERT_TRUE(f) << "writing " << path;
  ASSERT_EQ(chmod(path.c_str(), mode), 0) << path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

std::string Sha256(const std::string& data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return std::string(reinterpret_cast<char*>(digest), sizeof(digest));
}

std::string Uri(const std::string& object, const std::string& extra = "") {
  return absl::StrCat("pkcs11:token=", kTokenLabel, ";object=", object, extra);
}

// What the provider's section of openssl.cnf says, beyond the module.
struct ProviderSection {
  std::string pkcs11_module = fixtures::SoftHsm::ModulePath();
  std::string pin_source;
  std::vector<std::string> extra_lines;
};

class ProviderModuleTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<fixtures::SoftHsm>> hsm = fixtures::SoftHsm::Create();
    ASSERT_THAT(hsm, IsOk());
    hsm_ = hsm->release();
    std::vector<fixtures::KeySpec> specs;
    for (const TestKey& k : {kRsaSign, kEcSign, kRsaDecrypt}) {
      specs.push_back({.label = k.label,
                       .id_hex = k.id_hex,
                       .key_type = k.key_type,
                       .usage = k.decrypt ? fixtures::KeySpec::Usage::kDecrypt
                                          : fixtures::KeySpec::Usage::kSign});
    }
    absl::StatusOr<fixtures::TokenInfo> token =
        hsm_->InitTokenWithKeys(kTokenLabel, specs, kUserPin);
    ASSERT_THAT(token, IsOk());
    token_ = new fixtures::TokenInfo(*token);

    absl::StatusOr<fixtures::TempDir> dir = fixtures::TempDir::Create("provider-module");
    ASSERT_THAT(dir, IsOk());
    dir_ = new fixtures::TempDir(std::move(*dir));
    absl::StatusOr<fixtures::TestCa> ca = fixtures::TestCa::Create();
    ASSERT_THAT(ca, IsOk());
    ca_ = new fixtures::TestCa(std::move(*ca));
    ASSERT_THAT(fixtures::WritePem(File("ca.pem"), ca_->certificate()), IsOk());

    // A certificate for each key, issued for the public key the token
    // reports through pkcs11-tool (not through Signet).
    for (const TestKey& k : {kRsaSign, kEcSign, kRsaDecrypt}) {
      absl::StatusOr<std::string> pem = hsm_->ExportPublicKeyPem(*token_, k.id_hex);
      ASSERT_THAT(pem, IsOk());
      WriteFile(File(k.label + ".pub.pem"), *pem);
      EvpPkeyPtr public_key = fixtures::PublicKeyFromPem(*pem);
      ASSERT_NE(public_key, nullptr);
      absl::StatusOr<X509Ptr> cert =
          ca_->Issue(public_key.get(), "Bank " + k.label, "statements@bank.example",
                     {.for_encryption = k.decrypt});
      ASSERT_THAT(cert, IsOk());
      ASSERT_THAT(fixtures::WritePem(File(k.label + ".pem"), cert->get()), IsOk());
    }
    // The RSA signing key's certificate also lives on the token, beside it.
    ASSERT_THAT(hsm_->ImportCertificate(*token_, File(kRsaSign.label + ".pem"), kRsaSign.id_hex,
                                        kRsaSign.label),
                IsOk());

    WriteFile(File("user.pin"), kUserPin, 0600);
    WriteFile(File("data.txt"), "Statement for account 42\r\nBalance: 1,234.56 EUR\r\n");
    WriteFile(File("empty.cnf"), "");
    WriteConfig(File("openssl.cnf"), {.pin_source = "file:" + File("user.pin")});
  }

  static void TearDownTestSuite() {
    delete ca_;
    delete dir_;
    delete token_;
    delete hsm_;
  }

  static std::string File(const std::string& name) { return dir_->File(name); }

  static void WriteConfig(const std::string& path, const ProviderSection& section) {
    std::vector<std::string> lines = {
        "openssl_conf = openssl_init",
        "[openssl_init]",
        "providers = provider_sect",
        "[provider_sect]",
        "default = default_sect",
        "signet = signet_sect",
        "[default_sect]",
        "activate = 1",
        "[signet_sect]",
        absl::StrCat("module = ", kModuleDir, "/signet.so"),
        absl::StrCat("pkcs11-module = ", section.pkcs11_module),
    };
    if (!section.pin_source.empty()) lines.push_back("pin-source = " + section.pin_source);
    lines.insert(lines.end(), section.extra_lines.begin(), section.extra_lines.end());
    lines.push_back("activate = 1");
    WriteFile(path, absl::StrJoin(lines, "\n") + "\n");
  }

  // `openssl <args>` with OPENSSL_CONF (for the child only) and SoftHSM's
  // configuration, which the child inherits from SoftHsm::Create.
  static CommandResult Openssl(const std::vector<std::string>& args,
                               const std::string& config = File("openssl.cnf"),
                               std::vector<std::string> env = {}) {
    std::vector<std::string> argv = {"openssl"};
    argv.insert(argv.end(), args.begin(), args.end());
    env.push_back("OPENSSL_CONF=" + config);
    absl::StatusOr<CommandResult> result = fixtures::RunCommand(argv, {}, env);
    EXPECT_THAT(result, IsOk());
    if (!result.ok()) return {};
    ExpectNoPin(*result, fixtures::FormatCommand(argv));
    return *result;
  }

  // No PIN in anything openssl printed, whatever happened.
  static void ExpectNoPin(const CommandResult& result, const std::string& what) {
    for (const char* pin : {kUserPin, kWrongPin}) {
      EXPECT_THAT(result.out, Not(HasSubstr(pin))) << what;
      EXPECT_THAT(result.err, Not(HasSubstr(pin))) << what;
    }
  }

  static std::string Describe(const CommandResult& result) {
    return absl::StrCat("exit ", result.exit_code, "\nstdout: ", result.out,
                        "\nstderr: ", result.err);
  }

  // `openssl cms -sign` of data.txt with the token key, detached, as DER.
  static std::string CmsSign(const std::string& cert_path, const std::string& key_uri,
                             const std::string& config = File("openssl.cnf"),
                             std::vector<std::string> provider_args = {}) {
    const std::string out = File("sig.der");
    std::remove(out.c_str());
    std::vector<std::string> args = {"cms", "-sign"};
    args.insert(args.end(), provider_args.begin(), provider_args.end());
    args.insert(args.end(), {"-binary", "-in", File("data.txt"), "-signer", cert_path, "-inkey",
                             key_uri, "-outform", "DER", "-out", out});
    CommandResult result = Openssl(args, config);
    EXPECT_EQ(result.exit_code, 0) << Describe(result);
    return result.exit_code == 0 ? ReadFile(out) : std::string();
  }

  static fixtures::SoftHsm* hsm_;
  static fixtures::TokenInfo* token_;
  static fixtures::TempDir* dir_;
  static fixtures::TestCa* ca_;
};

fixtures::SoftHsm* ProviderModuleTest::hsm_ = nullptr;
fixtures::TokenInfo* ProviderModuleTest::token_ = nullptr;
fixtures::TempDir* ProviderModuleTest::dir_ = nullptr;
fixtures::TestCa* ProviderModuleTest::ca_ = nullptr;

TEST_F(ProviderModuleTest, CmsSignWithUriKeysVerifiesWithPlainOpenssl) {
  const std::string data = ReadFile(File("data.txt"));
  for (const TestKey& k : {kRsaSign, kEcSign}) {
    SCOPED_TRACE(k.label);
    std::string signature = CmsSign(File(k.label + ".pem"), Uri(k.label));
    ASSERT_FALSE(signature.empty());
    // Plain openssl, no provider.
    absl::Status verified = fixtures::OpensslCmsVerify(signature, File("ca.pem"), data);
    EXPECT_THAT(verified, IsOk());
    EXPECT_EQ(fixtures::OpensslCmsVerify(signature, File("ca.pem"), data + "x").code(),
              absl::StatusCode::kInvalidArgument);
    // And the default provider's software keys work beside Signet's in the
    // same configuration.
    CommandResult verify =
        Openssl({"cms", "-verify", "-binary", "-inform", "DER", "-in", File("sig.der"), "-content",
                 File("data.txt"), "-CAfile", File("ca.pem"), "-out", File("verified.txt")});
    EXPECT_EQ(verify.exit_code, 0) << Describe(verify);
    EXPECT_THAT(verify.err, HasSubstr("Verification successful"));
    EXPECT_EQ(ReadFile(File("verified.txt")), data);
  }
}

TEST_F(ProviderModuleTest, LoadsWithProviderOptionsInsteadOfAConfigFile) {
  // Nothing configured: the URI says where the PIN is.
  const std::string uri = Uri(kEcSign.label, "?pin-source=file:" + File("user.pin"));
  std::string signature =
      CmsSign(File(kEcSign.label + ".pem"), uri, File("empty.cnf"),
              {"-provider-path", kModuleDir, "-provider", "signet", "-provider", "default"});
  ASSERT_FALSE(signature.empty());
  absl::Status verified =
      fixtures::OpensslCmsVerify(signature, File("ca.pem"), ReadFile(File("data.txt")));
  EXPECT_THAT(verified, IsOk());
}

TEST_F(ProviderModuleTest, SignsAndVerifiesADigestWithPkeyutl) {
  const std::string digest = Sha256("the statement");
  WriteFile(File("digest.bin"), digest);
  for (const TestKey& k : {kRsaSign, kEcSign}) {
    SCOPED_TRACE(k.label);
    const std::string signature_path = File(k.label + ".sig");
    std::vector<std::string> sign = {
        "pkeyutl",          "-sign", "-inkey",       Uri(k.label), "-in",
        File("digest.bin"), "-out",  signature_path, "-pkeyopt",   "digest:sha256"};
    CommandResult signed_result = Openssl(sign);
    ASSERT_EQ(signed_result.exit_code, 0) << Describe(signed_result);
    // Checked by plain openssl with the public key pkcs11-tool read.
    CommandResult verified =
        Openssl({"pkeyutl", "-verify", "-pubin", "-inkey", File(k.label + ".pub.pem"), "-in",
                 File("digest.bin"), "-sigfile", signature_path, "-pkeyopt", "digest:sha256"},
                File("empty.cnf"));
    EXPECT_EQ(verified.exit_code, 0) << Describe(verified);
    EXPECT_THAT(verified.out, HasSubstr("Signature Verified Successfully"));
    // A different digest does not verify.
    WriteFile(File("other.bin"), Sha256("another statement"));
    CommandResult wrong =
        Openssl({"pkeyutl", "-verify", "-pubin", "-inkey", File(k.label + ".pub.pem"), "-in",
                 File("other.bin"), "-sigfile", signature_path, "-pkeyopt", "digest:sha256"},
                File("empty.cnf"));
    EXPECT_NE(wrong.exit_code, 0) << Describe(wrong);
  }
}

TEST_F(ProviderModuleTest, CmsDecryptsPkcs1AndOaepMessages) {
  const std::string statement = "Your statement for November: balance 1,234.56 EUR\n";
  for (bool oaep : {false, true}) {
    SCOPED_TRACE(oaep ? "OAEP" : "PKCS#1 v1.5");
    absl::StatusOr<std::string> enveloped = fixtures::OpensslCmsEncrypt(
        statement, File(kRsaDecrypt.label + ".pem"), "aes-256-cbc", oaep);
    ASSERT_THAT(enveloped, IsOk());
    WriteFile(File("enveloped.der"), *enveloped);
    const std::string out = File("decrypted.txt");
    std::remove(out.c_str());
    CommandResult result = Openssl(
        {"cms", "-decrypt", "-binary", "-inform", "DER", "-in", File("enveloped.der"), "-recip",
         File(kRsaDecrypt.label + ".pem"), "-inkey", Uri(kRsaDecrypt.label), "-out", out});
    ASSERT_EQ(result.exit_code, 0) << Describe(result);
    EXPECT_EQ(ReadFile(out), statement);
  }
}

TEST_F(ProviderModuleTest, HandsOutTheTokensCertificateAndPublicKey) {
  // type=cert: the certificate stored beside the key.
  CommandResult from_token = Openssl(
      {"x509", "-in", Uri(kRsaSign.label, ";type=cert"), "-noout", "-fingerprint", "-sha256"});
  ASSERT_EQ(from_token.exit_code, 0) << Describe(from_token);
  CommandResult from_file =
      Openssl({"x509", "-in", File(kRsaSign.label + ".pem"), "-noout", "-fingerprint", "-sha256"},
              File("empty.cnf"));
  ASSERT_EQ(from_file.exit_code, 0) << Describe(from_file);
  EXPECT_EQ(from_token.out, from_file.out);

  // Signer certificate and key both from the token.
  std::string signature = CmsSign(Uri(kRsaSign.label, ";type=cert"), Uri(kRsaSign.label));
  ASSERT_FALSE(signature.empty());
  absl::Status verified =
      fixtures::OpensslCmsVerify(signature, File("ca.pem"), ReadFile(File("data.txt")));
  EXPECT_THAT(verified, IsOk());

  // type=public: the public key, as pkcs11-tool reads it.
  for (const TestKey& k : {kRsaSign, kEcSign}) {
    CommandResult pub = Openssl({"pkey", "-pubin", "-in", Uri(k.label, ";type=public"), "-pubout"});
    ASSERT_EQ(pub.exit_code, 0) << Describe(pub);
    EXPECT_EQ(pub.out, ReadFile(File(k.label + ".pub.pem")));
  }

  // No certificate is stored beside the EC key.
  CommandResult missing = Openssl({"x509", "-in", Uri(kEcSign.label, ";type=cert"), "-noout"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_THAT(missing.err, HasSubstr("no certificate is stored beside key object=p256-sign"));
}

TEST_F(ProviderModuleTest, AUriNamingNoKeyFailsClearly) {
  const std::string out = File("nokey.der");
  CommandResult result = Openssl({"cms", "-sign", "-binary", "-in", File("data.txt"), "-signer",
                                  File(kRsaSign.label + ".pem"), "-inkey", Uri("no-such-key"),
                                  "-outform", "DER", "-out", out});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_THAT(result.err,
              HasSubstr("no private key object=no-such-key on token 'token=signet-cli'"));
}

TEST_F(ProviderModuleTest, PinValueIsRefused) {
  // In a URI. openssl repeats its own argument when loading fails; the
  // provider's message must not add another copy of the PIN.
  const std::string uri = Uri(kRsaSign.label, std::string("?pin-value=") + kUserPin);
  absl::StatusOr<CommandResult> result =
      fixtures::RunCommand({"openssl", "pkeyutl", "-sign", "-inkey", uri, "-in", File("data.txt")},
                           {}, {"OPENSSL_CONF=" + File("openssl.cnf")});
  ASSERT_THAT(result, IsOk());
  EXPECT_NE(result->exit_code, 0);
  EXPECT_THAT(result->err, HasSubstr("pin-value in a pkcs11: URI is not accepted"));
  const std::string without_uri = absl::StrReplaceAll(result->err, {{uri, "<uri>"}});
  EXPECT_THAT(without_uri, Not(HasSubstr(kUserPin))) << result->err;
  EXPECT_THAT(result->out, Not(HasSubstr(kUserPin)));

  // In the configuration: the provider refuses to start.
  WriteConfig(File("pin-value.cnf"), {.extra_lines = {std::string("pin-value = ") + kUserPin}});
  CommandResult configured =
      Openssl({"pkeyutl", "-sign", "-inkey", Uri(kRsaSign.label), "-in", File("data.txt")},
              File("pin-value.cnf"));
  EXPECT_NE(configured.exit_code, 0);
  EXPECT_THAT(configured.err, HasSubstr("pin-value is not accepted"));
}

TEST_F(ProviderModuleTest, AWrongPinFailsClearlyAndIsNotGuessedAgain) {
  // A token of its own: SoftHSM remembers a failed login (it sets
  // CKF_USER_PIN_COUNT_LOW until the next good one), which would lock the
  // other tests' token out.
  absl::StatusOr<fixtures::TokenInfo> token = hsm_->InitTokenWithKeys(
      "signet-cli-pin", {{.label = "key", .id_hex = "11", .key_type = "EC:prime256v1"}}, kUserPin);
  ASSERT_THAT(token, IsOk());
  WriteFile(File("wrong.pin"), kWrongPin, 0600);
  WriteConfig(File("wrong-pin.cnf"), {.pin_source = "file:" + File("wrong.pin")});
  const std::vector<std::string> sign = {"pkeyutl", "-sign",
                                         "-inkey",  "pkcs11:token=signet-cli-pin;object=key",
                                         "-in",     File("data.txt")};

  // The token rejects the PIN; the provider says so and where the PIN came
  // from, and gives up (ProviderUriKeyResolverTest counts the logins).
  CommandResult first = Openssl(sign, File("wrong-pin.cnf"));
  EXPECT_NE(first.exit_code, 0);
  EXPECT_THAT(first.err, HasSubstr("rejected the PIN from file:" + File("wrong.pin")));
  EXPECT_THAT(first.err, HasSubstr("CKR_PIN_INCORRECT"));
  EXPECT_THAT(first.err, HasSubstr("no PIN will be presented again"));

  // A fresh process sees the token's warning and does not guess again.
  CommandResult second = Openssl(sign, File("wrong-pin.cnf"));
  EXPECT_NE(second.exit_code, 0);
  EXPECT_THAT(second.err, HasSubstr("CKF_USER_PIN_COUNT_LOW"));
  EXPECT_THAT(second.err, HasSubstr("no PIN will be presented again"));
  // Neither PIN appears in any output (checked in Openssl()).
}

// The resolver the module uses, in this process, where the token layer's
// call counters can be read.
class ProviderUriKeyResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<fixtures::SoftHsm>> hsm = fixtures::SoftHsm::Create();
    ASSERT_THAT(hsm, IsOk());
    hsm_ = std::move(*hsm);
    absl::StatusOr<fixtures::TokenInfo> token =
        hsm_->InitTokenWithKeys("resolver",
                                {{.label = "a", .id_hex = "21", .key_type = "EC:prime256v1"},
                                 {.label = "b", .id_hex = "22", .key_type = "EC:prime256v1"}},
                                kUserPin);
    ASSERT_THAT(token, IsOk());
    absl::StatusOr<fixtures::TempDir> dir = fixtures::TempDir::Create("uri-resolver");
    ASSERT_THAT(dir, IsOk());
    dir_ = std::make_unique<fixtures::TempDir>(std::move(*dir));
    WriteFile(dir_->File("user.pin"), kUserPin, 0600);
    WriteFile(dir_->File("wrong.pin"), kWrongPin, 0600);
  }

  std::shared_ptr<provider::UriKeyResolver> Resolver(const std::string& pin_file) {
    absl::StatusOr<std::shared_ptr<provider::UriKeyResolver>> resolver =
        provider::UriKeyResolver::Create({.pin_source = "file:" + dir_->File(pin_file)});
    EXPECT_THAT(resolver, IsOk());
    return resolver.ok() ? *resolver : nullptr;
  }

  static uint64_t Calls(const std::string& function) {
    absl::StatusOr<std::shared_ptr<Module>> module = Module::Load(fixtures::SoftHsm::ModulePath());
    if (!module.ok()) return 0;
    auto counts = (*module)->counters().Snapshot();
    return counts.count(function) ? counts.at(function) : 0;
  }

  std::unique_ptr<fixtures::SoftHsm> hsm_;
  std::unique_ptr<fixtures::TempDir> dir_;
};

TEST_F(ProviderUriKeyResolverTest, AWrongPinIsPresentedOnce) {
  std::shared_ptr<provider::UriKeyResolver> resolver = Resolver("wrong.pin");
  ASSERT_NE(resolver, nullptr);
  absl::StatusOr<std::shared_ptr<TokenKey>> a = resolver->Resolve("pkcs11:token=resolver;object=a");
  EXPECT_EQ(a.status().code(), absl::StatusCode::kFailedPrecondition) << a.status();
  EXPECT_THAT(a.status().message(), HasSubstr("CKR_PIN_INCORRECT"));
  EXPECT_EQ(Calls("C_Login"), 1u);
  // The same key again, and another key of the token: no new login.
  EXPECT_THAT(resolver->Resolve("pkcs11:token=resolver;object=a"), Not(IsOk()));
  absl::StatusOr<std::shared_ptr<TokenKey>> b = resolver->Resolve("pkcs11:token=resolver;object=b");
  EXPECT_THAT(b, Not(IsOk()));
  EXPECT_THAT(b.status().message(), HasSubstr("no PIN will be presented again"));
  EXPECT_EQ(Calls("C_Login"), 1u);
  for (const absl::Status& status : {a.status(), b.status()}) {
    EXPECT_THAT(status.message(), Not(HasSubstr(kWrongPin)));
    EXPECT_THAT(status.message(), Not(HasSubstr(kUserPin)));
  }
}

TEST_F(ProviderUriKeyResolverTest, KeysAndTokensAreOpenedOnce) {
  std::shared_ptr<provider::UriKeyResolver> resolver = Resolver("user.pin");
  ASSERT_NE(resolver, nullptr);
  absl::StatusOr<std::shared_ptr<TokenKey>> a = resolver->Resolve("pkcs11:token=resolver;object=a");
  ASSERT_THAT(a, IsOk());
  // The same URI spelled differently (attribute order, a type) is the same
  // key; another key of the token shares its login.
  absl::StatusOr<std::shared_ptr<TokenKey>> again =
      resolver->Resolve("pkcs11:object=a;type=private;token=resolver");
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(a->get(), again->get());
  absl::StatusOr<std::shared_ptr<TokenKey>> b = resolver->Resolve("pkcs11:token=resolver;id=%22");
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ((*b)->label(), "b");
  EXPECT_EQ((*a)->token().get(), (*b)->token().get());
  EXPECT_EQ(Calls("C_Login"), 1u);
}

TEST_F(ProviderUriKeyResolverTest, BadUrisFailClearly) {
  std::shared_ptr<provider::UriKeyResolver> resolver = Resolver("user.pin");
  ASSERT_NE(resolver, nullptr);
  struct Case {
    std::string uri;
    absl::StatusCode code;
    std::string message;
  };
  const Case cases[] = {
      {"pkcs11:token=resolver;object=nope", absl::StatusCode::kNotFound,
       "no private key object=nope on token 'token=resolver'"},
      {"pkcs11:token=resolver", absl::StatusCode::kInvalidArgument, "names no key"},
      {"pkcs11:object=a", absl::StatusCode::kInvalidArgument, "names no token"},
      {"pkcs11:token=resolver;object=a;type=secret-key", absl::StatusCode::kInvalidArgument,
       "type=secret-key"},
      {std::string("pkcs11:token=resolver;object=a?pin-value=") + kUserPin,
       absl::StatusCode::kInvalidArgument, "pin-value"},
      {"pkcs11:token=resolver;object=a?module-name=softhsm2", absl::StatusCode::kUnimplemented,
       "module-path"},
      {"pkcs11:token=resolver;object=a?module-path=/nonexistent/module.so",
       absl::StatusCode::kNotFound, "/nonexistent/module.so"},
      {"pkcs11:token=resolver;object=a?pin-source=" + std::string(kUserPin),
       absl::StatusCode::kInvalidArgument, "pin-source"},
      {"file:/etc/passwd", absl::StatusCode::kInvalidArgument, "not a pkcs11: URI"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.uri);
    absl::StatusOr<std::shared_ptr<TokenKey>> key = resolver->Resolve(c.uri);
    EXPECT_EQ(key.status().code(), c.code) << key.status();
    EXPECT_THAT(key.status().message(), HasSubstr(c.message));
    EXPECT_THAT(key.status().message(), Not(HasSubstr(kUserPin)));
  }
  EXPECT_THAT(provider::UriKeyResolver::Create({.pin_source = kUserPin}), Not(IsOk()));
  EXPECT_THAT(provider::UriKeyResolver::Create({.pin_source = kUserPin}).status().message(),
              Not(HasSubstr(kUserPin)));
}

void CloseStore(OSSL_STORE_CTX* store) { OSSL_STORE_close(store); }

// The store and the keymgmt's load in this process (instrumented in a
// sanitizer build), through the built-in provider with the URI resolver.
TEST_F(ProviderUriKeyResolverTest, StoreHandsOutKeysByReference) {
  std::shared_ptr<provider::UriKeyResolver> resolver = Resolver("user.pin");
  ASSERT_NE(resolver, nullptr);
  OsslPtr<OSSL_LIB_CTX, OSSL_LIB_CTX_free> libctx(OSSL_LIB_CTX_new());
  absl::StatusOr<std::unique_ptr<provider::LoadedProviders>> providers =
      provider::RegisterBuiltinProvider(libctx.get(), resolver);
  ASSERT_THAT(providers, IsOk());
  using StorePtr = OsslPtr<OSSL_STORE_CTX, CloseStore>;
  using InfoPtr = OsslPtr<OSSL_STORE_INFO, OSSL_STORE_INFO_free>;
  auto open = [&](const std::string& uri) {
    return StorePtr(OSSL_STORE_open_ex(uri.c_str(), libctx.get(), nullptr, nullptr, nullptr,
                                       nullptr, nullptr, nullptr));
  };
  {
    StorePtr store = open("pkcs11:token=resolver;object=a");
    ASSERT_NE(store, nullptr) << fixtures::DrainOpenSslErrors();
    InfoPtr info(OSSL_STORE_load(store.get()));
    ASSERT_NE(info, nullptr) << fixtures::DrainOpenSslErrors();
    ASSERT_EQ(OSSL_STORE_INFO_get_type(info.get()), OSSL_STORE_INFO_PKEY);
    EvpPkeyPtr key(OSSL_STORE_INFO_get1_PKEY(info.get()));
    ASSERT_NE(key, nullptr);
    EXPECT_STREQ(OSSL_PROVIDER_get0_name(EVP_PKEY_get0_provider(key.get())), "signet");
    EXPECT_TRUE(OSSL_STORE_eof(store.get()));
    EXPECT_EQ(OSSL_STORE_load(store.get()), nullptr);
    // It signs on the token, and the signature verifies in software.
    const std::string digest = Sha256("by reference");
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(libctx.get(), key.get(), nullptr));
    size_t length = 0;
    ASSERT_EQ(EVP_PKEY_sign_init(ctx.get()), 1) << fixtures::DrainOpenSslErrors();
    const auto* in = reinterpret_cast<const unsigned char*>(digest.data());
    ASSERT_EQ(EVP_PKEY_sign(ctx.get(), nullptr, &length, in, digest.size()), 1);
    std::string signature(length, '\0');
    ASSERT_EQ(EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                            in, digest.size()),
              1)
        << fixtures::DrainOpenSslErrors();
    signature.resize(length);
    absl::StatusOr<std::shared_ptr<TokenKey>> token_key =
        resolver->Resolve("pkcs11:token=resolver;object=a");
    ASSERT_THAT(token_key, IsOk());
    EXPECT_TRUE(fixtures::OpenSslVerifies((*token_key)->public_key(), SignatureScheme::kEcdsa,
                                          HashAlgorithm::kSha256, digest, signature));
  }
  {
    // Opened and closed, never loaded; and loaded, the key never taken.
    StorePtr unused = open("pkcs11:token=resolver;object=b");
    ASSERT_NE(unused, nullptr);
    StorePtr loaded = open("pkcs11:token=resolver;object=b");
    ASSERT_NE(loaded, nullptr);
    InfoPtr info(OSSL_STORE_load(loaded.get()));
    ASSERT_NE(info, nullptr) << fixtures::DrainOpenSslErrors();
  }
  {
    // What the caller expects decides, when the URI has no type.
    StorePtr store = open("pkcs11:token=resolver;object=b");
    ASSERT_NE(store, nullptr);
    ASSERT_EQ(OSSL_STORE_expect(store.get(), OSSL_STORE_INFO_PUBKEY), 1);
    InfoPtr info(OSSL_STORE_load(store.get()));
    ASSERT_NE(info, nullptr) << fixtures::DrainOpenSslErrors();
    EXPECT_EQ(OSSL_STORE_INFO_get_type(info.get()), OSSL_STORE_INFO_PUBKEY);
  }
  {
    // A URI naming no key opens (the token is not asked until the load)
    // and fails to load, saying why.
    StorePtr store = open("pkcs11:token=resolver;object=nope");
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(OSSL_STORE_load(store.get()), nullptr);
    EXPECT_THAT(fixtures::DrainOpenSslErrors(),
                HasSubstr("no private key object=nope on token 'token=resolver'"));
  }
  resolver.reset();
  providers->reset();
}

}  // namespace
}  // namespace signet
