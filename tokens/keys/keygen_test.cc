#include "tokens/keys/keygen.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/der.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/subprocess.h"
#include "tests/fixtures/token_env.h"
#include "tests/fixtures/validity_margin.h"
#include "tokens/ck_status.h"
#include "tokens/keys/public_key.h"
#include "tokens/objects.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;

using fixtures::Deadline;
using fixtures::Digest;
using fixtures::Hex;
using fixtures::OpenSslVerifies;
using fixtures::TokenEnv;
using ::testing::HasSubstr;
using ::testing::Optional;
using ::testing::SizeIs;

std::unique_ptr<TokenEnv> FreshToken(const std::string& label) {
  absl::StatusOr<std::unique_ptr<TokenEnv>> env = TokenEnv::Create({.label = label, .keys = {}});
  EXPECT_THAT(env, IsOk());
  return env.ok() ? std::move(*env) : nullptr;
}

std::shared_ptr<TokenKey> Generate(TokenEnv& env, const KeyGenSpec& spec) {
  absl::StatusOr<std::shared_ptr<TokenKey>> key = GenerateKeyPair(env.token, spec, Deadline());
  EXPECT_THAT(key, IsOk());
  return key.ok() ? *key : nullptr;
}

SessionLease Lease(TokenEnv& env) {
  absl::StatusOr<SessionLease> lease = env.token->Acquire(Deadline());
  EXPECT_THAT(lease, IsOk());
  return lease.ok() ? std::move(*lease) : SessionLease();
}

// Objects of one class with this CKA_ID, found by the raw search (not by the
// code under test's key lookup).
std::vector<CK_OBJECT_HANDLE> FindById(TokenEnv& env, const SessionLease& lease,
                                       CK_OBJECT_CLASS object_class, const std::string& id) {
  AttributeTemplate search;
  search.Add(CKA_CLASS, object_class).AddBytes(CKA_ID, id);
  absl::StatusOr<std::vector<CK_OBJECT_HANDLE>> found =
      FindObjects(env.token->module(), lease.handle(), search, 16);
  EXPECT_THAT(found, IsOk());
  return found.ok() ? *found : std::vector<CK_OBJECT_HANDLE>();
}

std::vector<CK_OBJECT_HANDLE> FindAll(TokenEnv& env, const SessionLease& lease,
                                      CK_OBJECT_CLASS object_class) {
  AttributeTemplate search;
  search.Add(CKA_CLASS, object_class);
  absl::StatusOr<std::vector<CK_OBJECT_HANDLE>> found =
      FindObjects(env.token->module(), lease.handle(), search, 16);
  EXPECT_THAT(found, IsOk());
  return found.ok() ? *found : std::vector<CK_OBJECT_HANDLE>();
}

AttributeValues Read(TokenEnv& env, const SessionLease& lease, CK_OBJECT_HANDLE object,
                     const std::vector<CK_ATTRIBUTE_TYPE>& types) {
  absl::StatusOr<AttributeValues> values =
      ReadAttributes(env.token->module(), lease.handle(), object, types);
  EXPECT_THAT(values, IsOk());
  return values.ok() ? *values : AttributeValues();
}

struct GenCase {
  const char* name;
  KeyAlgorithm algorithm;
  KeyPurpose purpose;
  const char* id_hex;
  int bits;
  bool rsa() const {
    return algorithm == KeyAlgorithm::kRsa2048 || algorithm == KeyAlgorithm::kRsa3072 ||
           algorithm == KeyAlgorithm::kRsa4096;
  }
  bool sign() const { return purpose == KeyPurpose::kSign; }
};

void PrintTo(const GenCase& c, std::ostream* os) { *os << c.name; }

// RSA-4096 appears once: SoftHSM takes seconds to generate one.
const GenCase kGenCases[] = {
    {"Rsa2048Sign", KeyAlgorithm::kRsa2048, KeyPurpose::kSign, "a1", 2048},
    {"Rsa2048Decrypt", KeyAlgorithm::kRsa2048, KeyPurpose::kDecrypt, "a2", 2048},
    {"Rsa3072Sign", KeyAlgorithm::kRsa3072, KeyPurpose::kSign, "a3", 3072},
    {"Rsa3072Decrypt", KeyAlgorithm::kRsa3072, KeyPurpose::kDecrypt, "a4", 3072},
    {"Rsa4096Sign", KeyAlgorithm::kRsa4096, KeyPurpose::kSign, "a5", 4096},
    {"P256Sign", KeyAlgorithm::kEcP256, KeyPurpose::kSign, "b1", 256},
    {"P256Decrypt", KeyAlgorithm::kEcP256, KeyPurpose::kDecrypt, "b2", 256},
    {"P384Sign", KeyAlgorithm::kEcP384, KeyPurpose::kSign, "b3", 384},
    {"P384Decrypt", KeyAlgorithm::kEcP384, KeyPurpose::kDecrypt, "b4", 384},
};

class GeneratedKeyTest : public ::testing::TestWithParam<GenCase> {
 protected:
  void SetUp() override {
    env_ = FreshToken("keygen");
    ASSERT_NE(env_, nullptr);
    key_ = Generate(*env_, {.label = GetParam().name,
                            .id = Hex(GetParam().id_hex),
                            .algorithm = GetParam().algorithm,
                            .purpose = GetParam().purpose});
    ASSERT_NE(key_, nullptr);
  }

  // What the token itself says about the objects, read without TokenKey.
  void ExpectPolicyAttributesOnToken() {
    const GenCase& c = GetParam();
    SessionLease lease = Lease(*env_);
    ASSERT_TRUE(lease.valid());
    std::vector<CK_OBJECT_HANDLE> private_keys =
        FindById(*env_, lease, CKO_PRIVATE_KEY, Hex(c.id_hex));
    ASSERT_THAT(private_keys, SizeIs(1));
    AttributeValues priv =
        Read(*env_, lease, private_keys[0],
             {CKA_KEY_TYPE, CKA_LABEL, CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, CKA_EXTRACTABLE,
              CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE, CKA_LOCAL, CKA_SIGN, CKA_SIGN_RECOVER,
              CKA_DECRYPT, CKA_DERIVE, CKA_UNWRAP});
    EXPECT_THAT(UlongAttribute(priv, CKA_KEY_TYPE), Optional(c.rsa() ? CKK_RSA : CKK_EC));
    EXPECT_EQ(priv[CKA_LABEL], c.name);
    EXPECT_THAT(BoolAttribute(priv, CKA_TOKEN), Optional(true));
    EXPECT_THAT(BoolAttribute(priv, CKA_PRIVATE), Optional(true));
    EXPECT_THAT(BoolAttribute(priv, CKA_SENSITIVE), Optional(true));
    EXPECT_THAT(BoolAttribute(priv, CKA_EXTRACTABLE), Optional(false));
    EXPECT_THAT(BoolAttribute(priv, CKA_ALWAYS_SENSITIVE), Optional(true));
    EXPECT_THAT(BoolAttribute(priv, CKA_NEVER_EXTRACTABLE), Optional(true));
    EXPECT_THAT(BoolAttribute(priv, CKA_LOCAL), Optional(true));
    EXPECT_THAT(BoolAttribute(priv, CKA_SIGN), Optional(c.sign()));
    EXPECT_THAT(BoolAttribute(priv, CKA_SIGN_RECOVER), Optional(false));
    EXPECT_THAT(BoolAttribute(priv, CKA_DECRYPT), Optional(c.rsa() && !c.sign()));
    EXPECT_THAT(BoolAttribute(priv, CKA_DERIVE), Optional(!c.rsa() && !c.sign()));
    EXPECT_THAT(BoolAttribute(priv, CKA_UNWRAP), Optional(false));

    std::vector<CK_OBJECT_HANDLE> public_keys =
        FindById(*env_, lease, CKO_PUBLIC_KEY, Hex(c.id_hex));
    ASSERT_THAT(public_keys, SizeIs(1));
    AttributeValues pub = Read(*env_, lease, public_keys[0],
                               {CKA_LABEL, CKA_TOKEN, CKA_VERIFY, CKA_ENCRYPT, CKA_WRAP});
    EXPECT_EQ(pub[CKA_LABEL], c.name);
    EXPECT_THAT(BoolAttribute(pub, CKA_TOKEN), Optional(true));
    EXPECT_THAT(BoolAttribute(pub, CKA_VERIFY), Optional(c.sign()));
    EXPECT_THAT(BoolAttribute(pub, CKA_ENCRYPT), Optional(c.rsa() && !c.sign()));
    EXPECT_THAT(BoolAttribute(pub, CKA_WRAP), Optional(false));
  }

  // The token, not only Signet's own checks, refuses what the key is not for.
  void ExpectTokenRefusesOtherUses() {
    const GenCase& c = GetParam();
    const Module& module = env_->token->module();
    SessionLease lease = Lease(*env_);
    ASSERT_TRUE(lease.valid());
    std::vector<CK_OBJECT_HANDLE> found = FindById(*env_, lease, CKO_PRIVATE_KEY, Hex(c.id_hex));
    ASSERT_THAT(found, SizeIs(1));
    const CK_OBJECT_HANDLE handle = found[0];
    // An init that unexpectedly succeeded leaves an operation active on the
    // session; it must not go back to the pool that way.
    auto expect_refused = [&](const char* what, CK_RV rv) {
      EXPECT_EQ(CkrName(rv), "CKR_KEY_FUNCTION_NOT_PERMITTED") << what;
      if (rv == CKR_OK) lease.MarkBroken();
    };
    if (c.sign()) {
      if (c.rsa()) {
        CK_MECHANISM mech{CKM_RSA_PKCS, nullptr, 0};
        expect_refused("C_DecryptInit",
                       SIGNET_P11(module, DecryptInit, lease.handle(), &mech, handle));
      } else {
        std::string point(1 + 2 * (c.bits / 8), '\x04');
        CK_ECDH1_DERIVE_PARAMS params{CKD_NULL, 0, nullptr, static_cast<CK_ULONG>(point.size()),
                                      reinterpret_cast<CK_BYTE*>(point.data())};
        CK_MECHANISM mech{CKM_ECDH1_DERIVE, &params, sizeof(params)};
        AttributeTemplate secret;
        secret.Add(CKA_CLASS, CKO_SECRET_KEY)
            .Add(CKA_KEY_TYPE, CKK_GENERIC_SECRET)
            .AddBool(CKA_TOKEN, false)
            .Add(CKA_VALUE_LEN, static_cast<CK_ULONG>(c.bits / 8));
        CK_OBJECT_HANDLE derived = CK_INVALID_HANDLE;
        expect_refused("C_DeriveKey", SIGNET_P11(module, DeriveKey, lease.handle(), &mech, handle,
                                                 secret.data(), secret.size(), &derived));
      }
    } else {
      CK_MECHANISM mech{c.rsa() ? CKM_RSA_PKCS : CKM_ECDSA, nullptr, 0};
      expect_refused("C_SignInit", SIGNET_P11(module, SignInit, lease.handle(), &mech, handle));
      if (c.rsa()) {
        // CKA_UNWRAP is false: the decryption key cannot be used to turn a
        // ciphertext into a key object that might be extractable.
        std::string wrapped(static_cast<size_t>(c.bits / 8), '\x01');
        AttributeTemplate unwrapped;
        unwrapped.Add(CKA_CLASS, CKO_SECRET_KEY)
            .Add(CKA_KEY_TYPE, CKK_GENERIC_SECRET)
            .AddBool(CKA_TOKEN, false);
        CK_MECHANISM unwrap_mech{CKM_RSA_PKCS, nullptr, 0};
        CK_OBJECT_HANDLE out = CK_INVALID_HANDLE;
        expect_refused("C_UnwrapKey", SIGNET_P11(module, UnwrapKey, lease.handle(), &unwrap_mech,
                                                 handle, reinterpret_cast<CK_BYTE*>(wrapped.data()),
                                                 static_cast<CK_ULONG>(wrapped.size()),
                                                 unwrapped.data(), unwrapped.size(), &out));
      }
    }
    lease.Release();

    // And Signet refuses before asking the token.
    const std::string digest = Digest(HashAlgorithm::kSha256, "transfer 100 EUR");
    if (c.sign()) {
      if (c.rsa()) {
        std::string ciphertext(static_cast<size_t>(c.bits / 8), '\x01');
        EXPECT_EQ(
            key_->Decrypt(DecryptionScheme::kRsaPkcs1, ciphertext, Deadline()).status().code(),
            absl::StatusCode::kPermissionDenied);
      } else {
        EvpPkeyPtr peer(EVP_EC_gen(c.bits == 256 ? "P-256" : "P-384"));
        ASSERT_NE(peer, nullptr);
        absl::StatusOr<std::string> point = EcPublicPoint(peer.get());
        ASSERT_THAT(point, IsOk());
        EXPECT_EQ(key_->DeriveEcdh(*point, Deadline()).status().code(),
                  absl::StatusCode::kPermissionDenied);
      }
    } else {
      const SignOptions options{.scheme =
                                    c.rsa() ? SignatureScheme::kRsaPkcs1 : SignatureScheme::kEcdsa};
      absl::Status refused = key_->Sign(options, digest, Deadline()).status();
      EXPECT_EQ(refused.code(), absl::StatusCode::kPermissionDenied) << refused;
      EXPECT_THAT(refused.message(), HasSubstr("not a signing key"));
    }
  }

  // The key does what it was made for, checked against the public key as
  // pkcs11-tool reads it (not as Signet does).
  void ExpectPurposeWorksIndependently() {
    const GenCase& c = GetParam();
    EvpPkeyPtr independent = env_->IndependentPublicKey(c.id_hex);
    ASSERT_NE(independent, nullptr);
    EXPECT_TRUE(SamePublicKey(independent.get(), key_->public_key()));
    EXPECT_EQ(EVP_PKEY_get_bits(independent.get()), c.bits);

    if (c.sign()) {
      std::vector<SignatureScheme> schemes = {SignatureScheme::kEcdsa};
      if (c.rsa()) schemes = {SignatureScheme::kRsaPkcs1, SignatureScheme::kRsaPss};
      for (SignatureScheme scheme : schemes) {
        const std::string digest = Digest(HashAlgorithm::kSha256, "statement 2024-06");
        absl::StatusOr<std::string> signature =
            key_->Sign({.scheme = scheme, .hash = HashAlgorithm::kSha256}, digest, Deadline());
        ASSERT_THAT(signature, IsOk());
        EXPECT_TRUE(
            OpenSslVerifies(independent.get(), scheme, HashAlgorithm::kSha256, digest, *signature))
            << SchemeName(scheme);
        EXPECT_FALSE(OpenSslVerifies(independent.get(), scheme, HashAlgorithm::kSha256,
                                     Digest(HashAlgorithm::kSha256, "statement 2024-07"),
                                     *signature))
            << SchemeName(scheme);
      }
    } else if (c.rsa()) {
      const std::string content_key = "fedcba9876543210fedcba9876543210";
      const std::string ciphertext = fixtures::OpenSslEncrypt(
          independent.get(), DecryptionScheme::kRsaOaepSha256, content_key);
      ASSERT_FALSE(ciphertext.empty());
      absl::StatusOr<SecretBytes> plaintext =
          key_->Decrypt(DecryptionScheme::kRsaOaepSha256, ciphertext, Deadline());
      ASSERT_THAT(plaintext, IsOk());
      EXPECT_EQ(std::string(plaintext->begin(), plaintext->end()), content_key);
    } else {
      EvpPkeyPtr ephemeral(EVP_EC_gen(c.bits == 256 ? "P-256" : "P-384"));
      ASSERT_NE(ephemeral, nullptr);
      absl::StatusOr<std::string> point = EcPublicPoint(ephemeral.get());
      ASSERT_THAT(point, IsOk());
      absl::StatusOr<SecretBytes> on_token = key_->DeriveEcdh(*point, Deadline());
      ASSERT_THAT(on_token, IsOk());
      EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(ephemeral.get(), nullptr));
      ASSERT_EQ(EVP_PKEY_derive_init(ctx.get()), 1);
      ASSERT_EQ(EVP_PKEY_derive_set_peer(ctx.get(), independent.get()), 1);
      std::string expected(static_cast<size_t>(c.bits / 8), '\0');
      size_t length = expected.size();
      ASSERT_EQ(
          EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(expected.data()), &length),
          1);
      expected.resize(length);
      EXPECT_EQ(std::string(on_token->begin(), on_token->end()), expected);
    }
  }

  std::unique_ptr<TokenEnv> env_;
  std::shared_ptr<TokenKey> key_;
};

// One test per key, so each key is generated once (RSA-4096 is slow).
TEST_P(GeneratedKeyTest, StaysOnTheTokenAndServesOnlyItsPurpose) {
  const GenCase& c = GetParam();
  EXPECT_EQ(key_->label(), c.name);
  EXPECT_EQ(key_->id(), Hex(c.id_hex));
  EXPECT_EQ(key_->type(), c.rsa() ? KeyType::kRsa : KeyType::kEc);
  EXPECT_EQ(key_->bits(), c.bits);
  EXPECT_FALSE(key_->imported());
  EXPECT_EQ(key_->certificate(), nullptr);
  {
    SCOPED_TRACE("attributes on the token");
    ExpectPolicyAttributesOnToken();
  }
  {
    SCOPED_TRACE("other uses refused");
    ExpectTokenRefusesOtherUses();
  }
  {
    SCOPED_TRACE("its own purpose, checked independently");
    ExpectPurposeWorksIndependently();
  }
}

INSTANTIATE_TEST_SUITE_P(Algorithms, GeneratedKeyTest, ::testing::ValuesIn(kGenCases),
                         [](const ::testing::TestParamInfo<GenCase>& param_info) {
                           return std::string(param_info.param.name);
                         });

TEST(KeygenTest, DuplicateLabelOrIdIsRefusedAndLeavesNothingBehind) {
  auto env = FreshToken("dups");
  ASSERT_NE(env, nullptr);
  ASSERT_NE(Generate(*env, {.label = "mail", .id = Hex("31")}), nullptr);

  absl::StatusOr<std::shared_ptr<TokenKey>> same_label =
      GenerateKeyPair(env->token, {.label = "mail", .id = Hex("32")}, Deadline());
  EXPECT_EQ(same_label.status().code(), absl::StatusCode::kAlreadyExists) << same_label.status();
  EXPECT_THAT(same_label.status().message(), HasSubstr("label"));
  // A different algorithm or purpose does not make the label free.
  absl::StatusOr<std::shared_ptr<TokenKey>> same_id =
      GenerateKeyPair(env->token,
                      {.label = "other",
                       .id = Hex("31"),
                       .algorithm = KeyAlgorithm::kRsa2048,
                       .purpose = KeyPurpose::kDecrypt},
                      Deadline());
  EXPECT_EQ(same_id.status().code(), absl::StatusCode::kAlreadyExists) << same_id.status();
  EXPECT_THAT(same_id.status().message(), HasSubstr("id"));

  SessionLease lease = Lease(*env);
  ASSERT_TRUE(lease.valid());
  EXPECT_THAT(FindAll(*env, lease, CKO_PRIVATE_KEY), SizeIs(1));
  EXPECT_THAT(FindAll(*env, lease, CKO_PUBLIC_KEY), SizeIs(1));
}

// A certificate for `subject_key`, issued by a software CA.
X509Ptr MakeCertificate(EVP_PKEY* subject_key, EVP_PKEY* ca_key, const std::string& common_name,
                        long serial) {
  X509Ptr cert(X509_new());
  if (!cert) return nullptr;
  OsslPtr<X509_NAME, X509_NAME_free> issuer(X509_NAME_new());
  const auto* ca_name = reinterpret_cast<const unsigned char*>("Signet Test CA");
  const auto* cn = reinterpret_cast<const unsigned char*>(common_name.c_str());
  bool ok =
      X509_set_version(cert.get(), X509_VERSION_3) == 1 &&
      ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial) == 1 &&
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -fixtures::kValidityMarginSeconds) !=
          nullptr &&
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400) != nullptr &&
      X509_NAME_add_entry_by_txt(issuer.get(), "CN", MBSTRING_UTF8, ca_name, -1, -1, 0) == 1 &&
      X509_set_issuer_name(cert.get(), issuer.get()) == 1 &&
      X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_UTF8, cn, -1, -1,
                                 0) == 1 &&
      X509_set_pubkey(cert.get(), subject_key) == 1 &&
      X509_sign(cert.get(), ca_key, EVP_sha256()) > 0;
  return ok ? std::move(cert) : nullptr;
}

std::shared_ptr<TokenKey> LoadByLabel(TokenEnv& env, const std::string& label) {
  absl::StatusOr<std::shared_ptr<TokenKey>> key =
      TokenKey::Load(env.token, KeySelector::ByLabel(label), KeyPolicy{}, Deadline());
  EXPECT_THAT(key, IsOk());
  return key.ok() ? *key : nullptr;
}

TEST(KeygenTest, ALeftoverCertificateBlocksItsId) {
  auto env = FreshToken("leftover");
  ASSERT_NE(env, nullptr);
  EvpPkeyPtr someone(EVP_EC_gen("P-256"));
  EvpPkeyPtr ca(EVP_EC_gen("P-256"));
  X509Ptr cert = MakeCertificate(someone.get(), ca.get(), "Old Holder", 7);
  ASSERT_NE(cert, nullptr);
  const std::string path = env->hsm->dir() + "/old.der";
  {
    BioPtr out(BIO_new_file(path.c_str(), "wb"));
    ASSERT_EQ(i2d_X509_bio(out.get(), cert.get()), 1);
  }
  ASSERT_THAT(env->hsm->ImportCertificate(env->info, path, "41", "old"), IsOk());
  absl::StatusOr<std::shared_ptr<TokenKey>> key =
      GenerateKeyPair(env->token, {.label = "new", .id = Hex("41")}, Deadline());
  EXPECT_EQ(key.status().code(), absl::StatusCode::kAlreadyExists) << key.status();
  SessionLease lease = Lease(*env);
  ASSERT_TRUE(lease.valid());
  EXPECT_THAT(FindAll(*env, lease, CKO_PRIVATE_KEY), SizeIs(0)) << "a key pair was left behind";
}

TEST(KeygenTest, CertificatesAreStoredReplacedAndFoundAgain) {
  auto env = FreshToken("certs");
  ASSERT_NE(env, nullptr);
  EvpPkeyPtr ca(EVP_EC_gen("P-256"));
  ASSERT_NE(ca, nullptr);

  struct CertCase {
    std::string label;
    std::string id_hex;
    KeyAlgorithm algorithm;
  };
  const std::vector<CertCase> cases = {{"signer-ec", "41", KeyAlgorithm::kEcP256},
                                       {"signer-rsa", "42", KeyAlgorithm::kRsa2048}};
  for (const CertCase& c : cases) {
    SCOPED_TRACE(c.label);
    std::shared_ptr<TokenKey> key =
        Generate(*env, {.label = c.label, .id = Hex(c.id_hex), .algorithm = c.algorithm});
    ASSERT_NE(key, nullptr);
    X509Ptr first = MakeCertificate(key->public_key(), ca.get(), c.label + " 2024", 1);
    X509Ptr second = MakeCertificate(key->public_key(), ca.get(), c.label + " 2025", 2);
    ASSERT_NE(first, nullptr);
    ASSERT_NE(second, nullptr);

    ASSERT_THAT(StoreCertificate(*key, first.get(), Deadline()), IsOk());
    X509Ptr cached = key->certificate();
    ASSERT_NE(cached, nullptr);
    EXPECT_EQ(X509_cmp(cached.get(), first.get()), 0);
    // Found again from the token by a key loaded afresh.
    std::shared_ptr<TokenKey> reloaded = LoadByLabel(*env, c.label);
    ASSERT_NE(reloaded, nullptr);
    X509Ptr from_token = reloaded->certificate();
    ASSERT_NE(from_token, nullptr);
    EXPECT_EQ(X509_cmp(from_token.get(), first.get()), 0);

    ASSERT_THAT(StoreCertificate(*key, second.get(), Deadline()), IsOk());
    {
      SessionLease lease = Lease(*env);
      ASSERT_TRUE(lease.valid());
      std::vector<CK_OBJECT_HANDLE> certs = FindById(*env, lease, CKO_CERTIFICATE, Hex(c.id_hex));
      ASSERT_THAT(certs, SizeIs(1));
      AttributeValues values = Read(*env, lease, certs[0], {CKA_VALUE, CKA_LABEL, CKA_TOKEN});
      EXPECT_EQ(values[CKA_VALUE], (DerOf<X509, i2d_X509>(second.get())));
      EXPECT_EQ(values[CKA_LABEL], c.label);
      EXPECT_THAT(BoolAttribute(values, CKA_TOKEN), Optional(true));
    }
    reloaded = LoadByLabel(*env, c.label);
    ASSERT_NE(reloaded, nullptr);
    from_token = reloaded->certificate();
    ASSERT_NE(from_token, nullptr);
    EXPECT_EQ(X509_cmp(from_token.get(), second.get()), 0);
    EXPECT_NE(X509_cmp(from_token.get(), first.get()), 0);

    // A certificate for another key is refused and changes nothing.
    EvpPkeyPtr stranger(EVP_EC_gen("P-256"));
    ASSERT_NE(stranger, nullptr);
    X509Ptr foreign = MakeCertificate(stranger.get(), ca.get(), c.label + " forged", 3);
    ASSERT_NE(foreign, nullptr);
    absl::Status refused = StoreCertificate(*key, foreign.get(), Deadline());
    EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument) << refused;
    cached = key->certificate();
    ASSERT_NE(cached, nullptr);
    EXPECT_EQ(X509_cmp(cached.get(), second.get()), 0);
    {
      SessionLease lease = Lease(*env);
      ASSERT_TRUE(lease.valid());
      std::vector<CK_OBJECT_HANDLE> certs = FindById(*env, lease, CKO_CERTIFICATE, Hex(c.id_hex));
      ASSERT_THAT(certs, SizeIs(1));
      EXPECT_EQ(Read(*env, lease, certs[0], {CKA_VALUE})[CKA_VALUE],
                (DerOf<X509, i2d_X509>(second.get())));
    }
  }

  // An independent PKCS#11 consumer sees exactly the current certificates.
  absl::StatusOr<fixtures::CommandResult> listing = fixtures::RunCommand(
      {"pkcs11-tool", "--module", fixtures::SoftHsm::ModulePath(), "--login", "--pin",
       env->info.user_pin, "--token-label", env->info.label, "--list-objects", "--type", "cert"});
  ASSERT_THAT(listing, IsOk());
  ASSERT_EQ(listing->exit_code, 0) << listing->err;
  std::vector<std::string> objects =
      absl::StrSplit(listing->out, "Certificate Object", absl::SkipEmpty());
  // The first piece is whatever pkcs11-tool prints before the objects.
  std::vector<std::string> certificates;
  for (const std::string& piece : objects) {
    if (absl::StrContains(piece, "label:")) certificates.push_back(piece);
  }
  ASSERT_THAT(certificates, SizeIs(2)) << listing->out;
  for (const CertCase& c : cases) {
    int matches = 0;
    for (const std::string& object : certificates) {
      if (!absl::StrContains(object, absl::StrCat("ID:         ", c.id_hex))) continue;
      ++matches;
      EXPECT_THAT(object, HasSubstr(absl::StrCat("label:      ", c.label)));
      EXPECT_THAT(object, HasSubstr(absl::StrCat(c.label, " 2025")));
      EXPECT_THAT(object, ::testing::Not(HasSubstr(absl::StrCat(c.label, " 2024"))));
    }
    EXPECT_EQ(matches, 1) << c.label << "\n" << listing->out;
  }
}

}  // namespace
}  // namespace signet
