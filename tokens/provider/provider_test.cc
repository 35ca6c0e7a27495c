// OpenSSL's own CMS code signing with keys that stay on a SoftHSM2 token,
// through Signet's provider, checked by the openssl command line.
#include "tokens/provider/provider.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/cms_verifiers.h"
#include "tests/fixtures/provider_env.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/temp_dir.h"
#include "tests/fixtures/test_pki.h"
#include "tests/fixtures/token_env.h"
#include "tokens/keys/public_key.h"

namespace signet::provider {
namespace {

using ::signet::matchers::IsOk;

using fixtures::Deadline;
using fixtures::Hex;
using fixtures::KeySpec;
using fixtures::TokenEnv;
using ::testing::HasSubstr;

using fixtures::MapResolver;

struct Signer {
  std::string name;
  std::string id_hex;
  std::string key_type;
};

const Signer kSigners[] = {
    {"rsa", "01", "rsa:2048"}, {"p256", "02", "EC:prime256v1"}, {"p384", "03", "EC:secp384r1"}};
// Recipients: RSA key transport, ECDH key agreement.
const Signer kRecipients[] = {{"rsa-dec", "04", "rsa:2048"}, {"ec-dec", "05", "EC:prime256v1"}};

class ProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<KeySpec> keys;
    for (const Signer& s : kSigners) {
      keys.push_back({.label = s.name, .id_hex = s.id_hex, .key_type = s.key_type});
    }
    for (const Signer& r : kRecipients) {
      keys.push_back(
          {.label = r.name,
           .id_hex = r.id_hex,
           .key_type = r.key_type,
           .usage = r.key_type == "rsa:2048" ? KeySpec::Usage::kDecrypt : KeySpec::Usage::kDerive});
    }
    absl::StatusOr<std::unique_ptr<TokenEnv>> env =
        TokenEnv::Create({.label = "provider", .keys = keys});
    ASSERT_THAT(env, IsOk());
    env_ = std::move(*env);
    resolver_ = std::make_shared<MapResolver>();
    std::vector<Signer> all(std::begin(kSigners), std::end(kSigners));
    all.insert(all.end(), std::begin(kRecipients), std::end(kRecipients));
    for (const Signer& s : all) {
      absl::StatusOr<std::shared_ptr<TokenKey>> key =
          TokenKey::Load(env_->token, KeySelector::ById(Hex(s.id_hex)), KeyPolicy{}, Deadline());
      ASSERT_THAT(key, IsOk());
      resolver_->Add(s.name, *key);
    }
    libctx_.reset(OSSL_LIB_CTX_new());
    absl::StatusOr<std::unique_ptr<LoadedProviders>> providers =
        RegisterBuiltinProvider(libctx_.get(), resolver_);
    ASSERT_THAT(providers, IsOk());
    providers_ = std::move(*providers);
    absl::StatusOr<fixtures::TestCa> ca = fixtures::TestCa::Create();
    ASSERT_THAT(ca, IsOk());
    ca_ = std::make_unique<fixtures::TestCa>(std::move(*ca));
    absl::StatusOr<fixtures::TempDir> dir = fixtures::TempDir::Create("provider-test");
    ASSERT_THAT(dir, IsOk());
    dir_ = std::make_unique<fixtures::TempDir>(std::move(*dir));
    ca_path_ = dir_->File("ca.pem");
    ASSERT_THAT(fixtures::WritePem(ca_path_, ca_->certificate()), IsOk());
  }

  // Token keys go first, the library context last: a key's public EVP_PKEY
  // may hold a cached export to the provider's keymgmt.
  void TearDown() override {
    resolver_.reset();
    providers_.reset();
    libctx_.reset();
  }

  // The provider key and a certificate for it.
  std::pair<EvpPkeyPtr, X509Ptr> KeyAndCertificate(const std::string& name,
                                                   bool for_encryption = false) {
    absl::StatusOr<EvpPkeyPtr> key = LoadTokenKey(libctx_.get(), name);
    EXPECT_THAT(key, IsOk());
    if (!key.ok()) return {};
    std::shared_ptr<TokenKey> token_key = *resolver_->Resolve(name);
    absl::StatusOr<X509Ptr> cert =
        ca_->Issue(token_key->public_key(), "Bank " + name, "statements@bank.example",
                   {.for_encryption = for_encryption});
    EXPECT_THAT(cert, IsOk());
    if (!cert.ok()) return {};
    return {std::move(*key), std::move(*cert)};
  }

  // CMS SignedData over `content` made by OpenSSL's CMS code with the token
  // key; DER, or empty (with a test failure) if signing failed.
  std::string Sign(const std::string& name, const std::string& content, const char* digest,
                   bool detached, bool pss = false) {
    auto [key, cert] = KeyAndCertificate(name);
    if (!key || !cert) return {};
    BioPtr data = ReadBio(content);
    unsigned int flags = CMS_BINARY | CMS_PARTIAL | (detached ? CMS_DETACHED : 0);
    CmsPtr cms(CMS_sign_ex(nullptr, nullptr, nullptr, nullptr, flags, libctx_.get(), nullptr));
    EVP_MD* md = EVP_MD_fetch(libctx_.get(), digest, nullptr);
    CMS_SignerInfo* si =
        cms ? CMS_add1_signer(cms.get(), cert.get(), key.get(), md, flags | CMS_KEY_PARAM)
            : nullptr;
    EVP_MD_free(md);
    if (si == nullptr) {
      ADD_FAILURE() << "CMS_add1_signer: " << OpenSslErrors();
      return {};
    }
    if (pss) {
      EVP_PKEY_CTX* pctx = CMS_SignerInfo_get0_pkey_ctx(si);
      if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
          EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1) {
        ADD_FAILURE() << "PSS parameters: " << OpenSslErrors();
        return {};
      }
    }
    if (CMS_final(cms.get(), data.get(), nullptr, flags) != 1) {
      ADD_FAILURE() << "CMS_final: " << OpenSslErrors();
      return {};
    }
    unsigned char* der = nullptr;
    int length = i2d_CMS_ContentInfo(cms.get(), &der);
    std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(std::max(length, 0)));
    OPENSSL_free(der);
    return out;
  }

  static std::string OpenSslErrors() {
    std::string text;
    const char* file = nullptr;
    const char* function = nullptr;
    const char* data = nullptr;
    int line = 0;
    int flags = 0;
    while (unsigned long code = ERR_get_error_all(&file, &line, &function, &data, &flags)) {
      char buffer[256];
      ERR_error_string_n(code, buffer, sizeof(buffer));
      absl::StrAppend(&text, buffer, (flags & ERR_TXT_STRING) && data ? ": " : "",
                      (flags & ERR_TXT_STRING) && data ? data : "", " (", file ? file : "?", ":",
                      line, " ", function ? function : "", "); ");
    }
    return text;
  }

  std::unique_ptr<TokenEnv> env_;
  std::shared_ptr<MapResolver> resolver_;
  LibCtxPtr libctx_;
  std::unique_ptr<LoadedProviders> providers_;
  std::unique_ptr<fixtures::TestCa> ca_;
  std::unique_ptr<fixtures::TempDir> dir_;
  std::string ca_path_;
};

TEST_F(ProviderTest, DetachedAndAttachedSignaturesVerifyWithIndependentTools) {
  absl::StatusOr<fixtures::GpgsmHome> gpgsm = fixtures::GpgsmHome::Create();
  ASSERT_THAT(gpgsm, IsOk());
  ASSERT_THAT(gpgsm->TrustRoot(ca_->certificate()), IsOk());
  const std::string content = "Statement for account 42\r\nBalance: 1,234.56 EUR\r\n";
  for (const Signer& s : kSigners) {
    for (const char* digest : {"SHA256", "SHA384", "SHA512"}) {
      SCOPED_TRACE(absl::StrCat(s.name, " ", digest));
      std::string detached = Sign(s.name, content, digest, /*detached=*/true);
      ASSERT_FALSE(detached.empty());
      EXPECT_THAT(fixtures::OpensslCmsVerify(detached, ca_path_, content), IsOk());
      EXPECT_EQ(fixtures::OpensslCmsVerify(detached, ca_path_, content + "x").code(),
                absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(fixtures::CerttoolP7Verify(detached, ca_path_, content), IsOk());
      EXPECT_EQ(fixtures::CerttoolP7Verify(detached, ca_path_, content + "x").code(),
                absl::StatusCode::kInvalidArgument);
      // gpgsm refuses a P-384 key with a 256-bit hash, rightly.
      if (s.name != "p384" || std::string(digest) != "SHA256") {
        EXPECT_THAT(gpgsm->Verify(detached, content), IsOk());
      }
      std::string attached = Sign(s.name, content, digest, /*detached=*/false);
      ASSERT_FALSE(attached.empty());
      std::string embedded;
      EXPECT_THAT(fixtures::OpensslCmsVerify(attached, ca_path_, std::nullopt, &embedded), IsOk());
      EXPECT_EQ(embedded, content);
      EXPECT_THAT(fixtures::CerttoolP7Verify(attached, ca_path_, std::nullopt), IsOk());
    }
  }
}

TEST_F(ProviderTest, RsaPssSignaturesVerifyWithIndependentTools) {
  const std::string content = "PSS-signed statement";
  for (const char* digest : {"SHA256", "SHA384", "SHA512"}) {
    SCOPED_TRACE(digest);
    std::string signature = Sign("rsa", content, digest, /*detached=*/true, /*pss=*/true);
    ASSERT_FALSE(signature.empty());
    // The signer info names RSASSA-PSS, not rsaEncryption.
    const auto* p = reinterpret_cast<const unsigned char*>(signature.data());
    CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(signature.size())));
    ASSERT_NE(cms, nullptr);
    CMS_SignerInfo* si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms.get()), 0);
    X509_ALGOR* signature_algorithm = nullptr;
    CMS_SignerInfo_get0_algs(si, nullptr, nullptr, nullptr, &signature_algorithm);
    const ASN1_OBJECT* oid = nullptr;
    X509_ALGOR_get0(&oid, nullptr, nullptr, signature_algorithm);
    EXPECT_EQ(OBJ_obj2nid(oid), NID_rsassaPss);
    EXPECT_THAT(fixtures::OpensslCmsVerify(signature, ca_path_, content), IsOk());
    // GnuTLS 3.7 takes every RSASSA-PSS signature in PKCS#7 for PSS with
    // SHA-256 (it ignores the parameters' hash; `openssl cms -sign` output
    // with SHA-384 fails the same way), so it can judge only that one.
    if (std::string(digest) == "SHA256") {
      absl::Status certtool = fixtures::CerttoolP7Verify(signature, ca_path_, content);
      EXPECT_THAT(certtool, IsOk());
    }
  }
}

// Opens `enveloped` (DER) with the token key `name` through CMS_decrypt.
absl::StatusOr<std::string> Decrypt(OSSL_LIB_CTX* libctx, EVP_PKEY* key, X509* cert,
                                    const std::string& enveloped) {
  CmsPtr cms(CMS_ContentInfo_new_ex(libctx, nullptr));
  BioPtr in = ReadBio(enveloped);
  CMS_ContentInfo* raw = cms.release();
  if (d2i_CMS_bio(in.get(), &raw) == nullptr) {
    CMS_ContentInfo_free(raw);
    return absl::InvalidArgumentError("not a CMS message");
  }
  cms.reset(raw);
  BioPtr out(BIO_new(BIO_s_mem()));
  if (CMS_decrypt(cms.get(), key, cert, nullptr, out.get(), CMS_BINARY) != 1) {
    return absl::InternalError("CMS_decrypt failed");
  }
  char* data = nullptr;
  long length = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

TEST_F(ProviderTest, DecryptsWhatOpensslAndGpgsmEncrypted) {
  const std::string statement = "Your statement for November: balance 1,234.56 EUR\n";
  for (const Signer& r : kRecipients) {
    auto [key, cert] = KeyAndCertificate(r.name, /*for_encryption=*/true);
    ASSERT_NE(key, nullptr);
    const std::string cert_path = dir_->File(r.name + ".pem");
    ASSERT_THAT(fixtures::WritePem(cert_path, cert.get()), IsOk());
    const bool rsa = r.key_type == "rsa:2048";
    struct Variant {
      const char* cipher;
      bool oaep;
      std::vector<std::string> keyopts;
    };
    std::vector<Variant> variants = {{"aes-256-cbc", false, {}}, {"aes-256-gcm", false, {}}};
    if (rsa) {
      variants.push_back({"aes-256-cbc", true, {}});
      variants.push_back({"aes-256-gcm", true, {}});
      variants.push_back({"aes-256-cbc", false, {"rsa_padding_mode:oaep"}});  // SHA-1 OAEP
      // SHA-384 and SHA-512 (pkijs' default), which SoftHSM does not do:
      // unpadded in software after a raw RSA decryption on the token.
      variants.push_back({"aes-256-gcm", false, {"rsa_padding_mode:oaep", "rsa_oaep_md:sha384"}});
      variants.push_back({"aes-256-cbc",
                          false,
                          {"rsa_padding_mode:oaep", "rsa_oaep_md:sha512", "rsa_mgf1_md:sha512"}});
    } else {
      variants.push_back({"aes-256-gcm", false, {"ecdh_kdf_md:sha256"}});
    }
    for (const Variant& v : variants) {
      SCOPED_TRACE(absl::StrCat(r.name, " ", v.cipher, v.oaep ? " oaep " : " ",
                                absl::StrJoin(v.keyopts, " ")));
      absl::StatusOr<std::string> enveloped =
          fixtures::OpensslCmsEncrypt(statement, cert_path, v.cipher, v.oaep, v.keyopts);
      ASSERT_THAT(enveloped, IsOk());
      absl::StatusOr<std::string> opened =
          Decrypt(libctx_.get(), key.get(), cert.get(), *enveloped);
      ASSERT_THAT(opened, IsOk()) << opened.status() << " " << OpenSslErrors();
      EXPECT_EQ(*opened, statement);
    }
    if (rsa) {
      absl::StatusOr<fixtures::GpgsmHome> gpgsm = fixtures::GpgsmHome::Create();
      ASSERT_THAT(gpgsm, IsOk());
      ASSERT_THAT(gpgsm->TrustRoot(ca_->certificate()), IsOk());
      absl::StatusOr<std::string> enveloped = gpgsm->Encrypt(statement, cert.get());
      ASSERT_THAT(enveloped, IsOk());
      absl::StatusOr<std::string> opened =
          Decrypt(libctx_.get(), key.get(), cert.get(), *enveloped);
      ASSERT_THAT(opened, IsOk()) << opened.status() << " " << OpenSslErrors();
      EXPECT_EQ(*opened, statement);
    }
  }
}

TEST_F(ProviderTest, DecryptionCallsOnlyDecryptAndDerive) {
  auto [rsa, rsa_cert] = KeyAndCertificate("rsa-dec", /*for_encryption=*/true);
  auto [ec, ec_cert] = KeyAndCertificate("ec-dec", /*for_encryption=*/true);
  ASSERT_NE(rsa, nullptr);
  ASSERT_NE(ec, nullptr);
  const std::string rsa_path = dir_->File("rsa-dec.pem");
  const std::string ec_path = dir_->File("ec-dec.pem");
  ASSERT_THAT(fixtures::WritePem(rsa_path, rsa_cert.get()), IsOk());
  ASSERT_THAT(fixtures::WritePem(ec_path, ec_cert.get()), IsOk());
  absl::StatusOr<std::string> to_rsa = fixtures::OpensslCmsEncrypt("a", rsa_path, "aes-256-gcm");
  absl::StatusOr<std::string> to_ec = fixtures::OpensslCmsEncrypt("b", ec_path, "aes-256-gcm");
  ASSERT_THAT(to_rsa, IsOk());
  ASSERT_THAT(to_ec, IsOk());

  const auto before = env_->module->counters().Snapshot();
  ASSERT_THAT(Decrypt(libctx_.get(), rsa.get(), rsa_cert.get(), *to_rsa), IsOk());
  ASSERT_THAT(Decrypt(libctx_.get(), ec.get(), ec_cert.get(), *to_ec), IsOk());
  std::map<std::string, uint64_t> delta;
  for (const auto& [function, count] : env_->module->counters().Snapshot()) {
    uint64_t was = before.count(function) ? before.at(function) : 0;
    if (count != was) delta[function] = count - was;
  }
  // The ECDH secret is a session object read once (C_GetAttributeValue on
  // it, not on the key) and destroyed; nothing else reaches the token.
  EXPECT_EQ(delta, (std::map<std::string, uint64_t>{{"C_DecryptInit", 1},
                                                    {"C_Decrypt", 1},
                                                    {"C_DeriveKey", 1},
                                                    {"C_GetAttributeValue", 1},
                                                    {"C_DestroyObject", 1}}));
}

// EVP_PKEY_decrypt with the OAEP parameters a caller sets: the four hashes
// the token layer has (MGF1 with the same one, no label) decrypt; any other
// combination is refused by name before the token is reached.
TEST_F(ProviderTest, OaepDecryptsWithSha1AndSha2AndRefusesOtherParametersByName) {
  absl::StatusOr<EvpPkeyPtr> key = LoadTokenKey(libctx_.get(), "rsa-dec");
  ASSERT_THAT(key, IsOk());
  const std::string content_key = "0123456789abcdef0123456789abcdef";
  struct Parameters {
    const char* md;
    const char* mgf1;  // null: OpenSSL's default, the OAEP digest
    bool label;
  };
  // Encrypted by the provider (in software, with the public key) and
  // decrypted on the token; nullopt when EVP_PKEY_decrypt failed.
  auto round_trip = [&](const Parameters& p) -> std::optional<std::string> {
    std::string ciphertext(256, '\0');
    for (bool decrypting : {false, true}) {
      EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(libctx_.get(), key->get(), nullptr));
      if (!ctx ||
          (decrypting ? EVP_PKEY_decrypt_init(ctx.get()) : EVP_PKEY_encrypt_init(ctx.get())) != 1 ||
          EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||
          EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx.get(), p.md, nullptr) != 1 ||
          (p.mgf1 != nullptr &&
           EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx.get(), p.mgf1, nullptr) != 1)) {
        ADD_FAILURE() << "setting up " << p.md << ": " << OpenSslErrors();
        return std::nullopt;
      }
      if (p.label) {
        void* label = OPENSSL_memdup("label", 5);
        if (EVP_PKEY_CTX_set0_rsa_oaep_label(ctx.get(), label, 5) != 1) {
          OPENSSL_free(label);
          ADD_FAILURE() << "setting the label: " << OpenSslErrors();
          return std::nullopt;
        }
      }
      if (!decrypting) {
        size_t length = ciphertext.size();
        EXPECT_EQ(
            EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(ciphertext.data()),
                             &length, reinterpret_cast<const unsigned char*>(content_key.data()),
                             content_key.size()),
            1)
            << OpenSslErrors();
        ciphertext.resize(length);
        continue;
      }
      std::string plaintext(256, '\0');
      size_t length = plaintext.size();
      if (EVP_PKEY_decrypt(ctx.get(), reinterpret_cast<unsigned char*>(plaintext.data()), &length,
                           reinterpret_cast<const unsigned char*>(ciphertext.data()),
                           ciphertext.size()) != 1) {
        return std::nullopt;
      }
      plaintext.resize(length);
      return plaintext;
    }
    return std::nullopt;
  };

  for (const Parameters& p :
       {Parameters{"SHA1", nullptr, false}, Parameters{"SHA256", nullptr, false},
        Parameters{"SHA384", nullptr, false}, Parameters{"SHA512", "SHA512", false}}) {
    SCOPED_TRACE(p.md);
    std::optional<std::string> plaintext = round_trip(p);
    ASSERT_TRUE(plaintext.has_value()) << OpenSslErrors();
    EXPECT_EQ(*plaintext, content_key);
  }
  const struct {
    Parameters parameters;
    const char* named;
  } refused[] = {
      {{"SHA224", nullptr, false}, "OAEP with SHA2-224, MGF1 with SHA2-224: "},
      {{"SHA512", "SHA256", false}, "OAEP with SHA2-512, MGF1 with SHA2-256: "},
      {{"SHA256", "SHA1", false}, "OAEP with SHA2-256, MGF1 with SHA1: "},
      {{"SHA256", nullptr, true}, "OAEP with SHA2-256, MGF1 with SHA2-256 and a label: "},
  };
  // Encryption (the public half, in software) keeps a label: a ciphertext
  // made with one does not decrypt without it.
  {
    std::string ciphertext(256, '\0');
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(libctx_.get(), key->get(), nullptr));
    void* label = OPENSSL_memdup("label", 5);
    ASSERT_TRUE(ctx && EVP_PKEY_encrypt_init(ctx.get()) == 1 &&
                EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) == 1 &&
                EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx.get(), "SHA256", nullptr) == 1 &&
                EVP_PKEY_CTX_set0_rsa_oaep_label(ctx.get(), label, 5) == 1)
        << OpenSslErrors();
    size_t length = ciphertext.size();
    ASSERT_EQ(EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(ciphertext.data()),
                               &length, reinterpret_cast<const unsigned char*>(content_key.data()),
                               content_key.size()),
              1)
        << OpenSslErrors();
    ciphertext.resize(length);
    EvpPkeyCtxPtr decrypt(EVP_PKEY_CTX_new_from_pkey(libctx_.get(), key->get(), nullptr));
    ASSERT_TRUE(decrypt && EVP_PKEY_decrypt_init(decrypt.get()) == 1 &&
                EVP_PKEY_CTX_set_rsa_padding(decrypt.get(), RSA_PKCS1_OAEP_PADDING) == 1 &&
                EVP_PKEY_CTX_set_rsa_oaep_md_name(decrypt.get(), "SHA256", nullptr) == 1);
    std::string plaintext(256, '\0');
    length = plaintext.size();
    EXPECT_NE(EVP_PKEY_decrypt(decrypt.get(), reinterpret_cast<unsigned char*>(plaintext.data()),
                               &length, reinterpret_cast<const unsigned char*>(ciphertext.data()),
                               ciphertext.size()),
              1)
        << "the label was dropped when encrypting";
    (void)OpenSslErrors();
  }
  for (const auto& r : refused) {
    SCOPED_TRACE(r.named);
    const auto before = env_->module->counters().Snapshot();
    EXPECT_FALSE(round_trip(r.parameters).has_value());
    const std::string errors = OpenSslErrors();
    EXPECT_THAT(errors,
                HasSubstr(absl::StrCat(r.named,
                                       "token keys decrypt PKCS#1 v1.5, or OAEP with SHA-1, "
                                       "SHA-256, SHA-384 or SHA-512, MGF1 with the same hash and "
                                       "no label")));
    EXPECT_EQ(env_->module->counters().Snapshot(), before) << "the token was reached";
  }
}

TEST_F(ProviderTest, UnsupportedAlgorithmsFailClearlyWithoutReachingTheToken) {
  absl::StatusOr<EvpPkeyPtr> key = LoadTokenKey(libctx_.get(), "rsa");
  ASSERT_THAT(key, IsOk());
  const auto before = env_->module->counters().Snapshot();
  EvpMdCtxPtr md_ctx(EVP_MD_CTX_new());
  // SHA-1 signatures are refused: the token layer signs SHA-2 digests only.
  EXPECT_NE(EVP_DigestSignInit_ex(md_ctx.get(), nullptr, "SHA1", libctx_.get(), nullptr, key->get(),
                                  nullptr),
            1);
  EXPECT_THAT(OpenSslErrors(), HasSubstr("not supported"));
  // X9.31 padding is not something a token key does.
  EVP_PKEY_CTX* pctx = nullptr;
  md_ctx.reset(EVP_MD_CTX_new());
  ASSERT_EQ(EVP_DigestSignInit_ex(md_ctx.get(), &pctx, "SHA256", libctx_.get(), nullptr, key->get(),
                                  nullptr),
            1);
  EXPECT_NE(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_X931_PADDING), 1);
  EXPECT_THAT(OpenSslErrors(), HasSubstr("PKCS#1 v1.5 or PSS"));
  EXPECT_EQ(env_->module->counters().Snapshot(), before);
}

TEST_F(ProviderTest, TheTokenOnlySignsAndNothingPrivateIsRead) {
  const auto before = env_->module->counters().Snapshot();
  for (const Signer& s : kSigners) {
    ASSERT_FALSE(Sign(s.name, "content", "SHA256", true).empty());
  }
  const auto after = env_->module->counters().Snapshot();
  std::map<std::string, uint64_t> delta;
  for (const auto& [function, count] : after) {
    uint64_t was = before.count(function) ? before.at(function) : 0;
    if (count != was) delta[function] = count - was;
  }
  const uint64_t n = std::size(kSigners);
  EXPECT_EQ(delta, (std::map<std::string, uint64_t>{{"C_SignInit", n}, {"C_Sign", n}}));
}

TEST_F(ProviderTest, DefaultProviderKeysKeepWorkingBesideIt) {
  const auto before = env_->module->counters().Snapshot();
  EvpPkeyPtr software(EVP_PKEY_Q_keygen(libctx_.get(), nullptr, "RSA", size_t{2048}));
  ASSERT_NE(software, nullptr) << OpenSslErrors();
  EXPECT_STREQ(OSSL_PROVIDER_get0_name(EVP_PKEY_get0_provider(software.get())), "default");
  EvpPkeyPtr ec(EVP_PKEY_Q_keygen(libctx_.get(), nullptr, "EC", "P-256"));
  ASSERT_NE(ec, nullptr) << OpenSslErrors();
  for (EVP_PKEY* key : {software.get(), ec.get()}) {
    absl::StatusOr<X509Ptr> cert = ca_->Issue(key, "Software signer");
    ASSERT_THAT(cert, IsOk());
    BioPtr data = ReadBio("software");
    CmsPtr cms(CMS_sign_ex(cert->get(), key, nullptr, data.get(), CMS_BINARY | CMS_DETACHED,
                           libctx_.get(), nullptr));
    ASSERT_NE(cms, nullptr) << OpenSslErrors();
    unsigned char* der = nullptr;
    int length = i2d_CMS_ContentInfo(cms.get(), &der);
    std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(length));
    OPENSSL_free(der);
    EXPECT_THAT(fixtures::OpensslCmsVerify(out, ca_path_, std::string("software")), IsOk());
  }
  EXPECT_EQ(env_->module->counters().Snapshot(), before) << "a software key reached the token";
}

TEST_F(ProviderTest, ClearErrorsForBadReferences) {
  absl::StatusOr<EvpPkeyPtr> missing = LoadTokenKey(libctx_.get(), "nope");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("nope"));

  LibCtxPtr other(OSSL_LIB_CTX_new());
  EXPECT_EQ(LoadTokenKey(other.get(), "rsa").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(ProviderTest, ManyThreadsSignThroughTheProvider) {
  std::vector<std::pair<EvpPkeyPtr, X509Ptr>> signers;
  for (const Signer& s : kSigners) signers.push_back(KeyAndCertificate(s.name));
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> threads;
  const absl::Time end = absl::Now() + absl::Seconds(3);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      const auto& [key, cert] = signers[t % signers.size()];
      for (int i = 0; absl::Now() < end; ++i) {
        const std::string content = absl::StrCat("message ", t, "/", i);
        BioPtr data = ReadBio(content);
        CmsPtr cms(CMS_sign_ex(cert.get(), key.get(), nullptr, data.get(),
                               CMS_BINARY | CMS_DETACHED, libctx_.get(), nullptr));
        if (cms == nullptr) {
          ++failed;
          continue;
        }
        BioPtr check = ReadBio(content);
        OsslPtr<X509_STORE, X509_STORE_free> store(X509_STORE_new());
        X509_STORE_add_cert(store.get(), ca_->certificate());
        if (CMS_verify(cms.get(), nullptr, store.get(), check.get(), nullptr, CMS_BINARY) == 1) {
          ++ok;
        } else {
          ++failed;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0) << OpenSslErrors();
  EXPECT_GT(ok.load(), 8);
}

}  // namespace
}  // namespace signet::provider
