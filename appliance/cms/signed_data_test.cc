// SignedData made with keys on a SoftHSM2 token through Signet's provider,
// checked by openssl, certtool and gpgsm, and taken apart with OpenSSL to
// see the attributes S/MIME requires.
#include "appliance/cms/signed_data.h"

#include <openssl/cms.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "appliance/cms/signed_data_template.h"
#include "common/der.h"
#include "common/ossl_ptr.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/cms_verifiers.h"
#include "tests/fixtures/provider_env.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::cms {
namespace {

using ::signet::matchers::IsOk;

using fixtures::ProviderEnv;
using ::testing::HasSubstr;

constexpr char kContent[] =
    "Content-Type: text/plain; charset=us-ascii\r\n\r\nStatement for November: 3 transfers.\r\n";

class SignedDataTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<ProviderEnv>> env =
        ProviderEnv::Create({{.name = "rsa", .id_hex = "01", .key_type = "rsa:2048"},
                             {.name = "p256", .id_hex = "02", .key_type = "EC:prime256v1"},
                             {.name = "p384", .id_hex = "03", .key_type = "EC:secp384r1"}});
    ASSERT_THAT(env, IsOk());
    env_ = env->release();
    absl::StatusOr<fixtures::GpgsmHome> gpgsm = fixtures::GpgsmHome::Create();
    ASSERT_THAT(gpgsm, IsOk());
    gpgsm_ = new fixtures::GpgsmHome(std::move(*gpgsm));
    ASSERT_THAT(gpgsm_->TrustRoot(env_->ca().certificate()), IsOk());
  }
  static void TearDownTestSuite() {
    delete gpgsm_;
    delete env_;
  }

  CmsContext Context() const { return {.libctx = env_->libctx()}; }
  Signer SignerFor(const std::string& name) const {
    return {.key = env_->key(name), .certificate = env_->certificate(name)};
  }

  static CmsPtr Parse(const std::string& der) {
    const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
    return CmsPtr(d2i_CMS_ContentInfo(nullptr, &cursor, static_cast<long>(der.size())));
  }

  // Every independent verifier accepts `der` over kContent.
  void ExpectVerifiedByEveryone(const std::string& der, bool detached) {
    std::optional<std::string> content;
    if (detached) content = kContent;
    std::string verified;
    EXPECT_THAT(fixtures::OpensslCmsVerify(der, env_->ca_path(), content, &verified), IsOk());
    EXPECT_EQ(verified, kContent);
    EXPECT_THAT(fixtures::CerttoolP7Verify(der, env_->ca_path(), content), IsOk());
    EXPECT_THAT(gpgsm_->Verify(der, content), IsOk());
  }

  static ProviderEnv* env_;
  static fixtures::GpgsmHome* gpgsm_;
};

ProviderEnv* SignedDataTest::env_ = nullptr;
fixtures::GpgsmHome* SignedDataTest::gpgsm_ = nullptr;

TEST_F(SignedDataTest, DetachedAndAttachedSignaturesVerifyWithIndependentTools) {
  const struct {
    std::string key;
    DigestAlgorithm digest;
  } cases[] = {{"rsa", DigestAlgorithm::kSha256},
               {"p256", DigestAlgorithm::kSha256},
               {"p384", DigestAlgorithm::kSha384}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.key);
    for (bool detached : {true, false}) {
      SCOPED_TRACE(detached ? "detached" : "attached");
      SignOptions options{.digest = c.digest};
      absl::StatusOr<std::string> der =
          detached ? SignDetached(Context(), kContent, SignerFor(c.key), options)
                   : SignAttached(Context(), kContent, SignerFor(c.key), options);
      ASSERT_THAT(der, IsOk());
      ExpectVerifiedByEveryone(*der, detached);
      // The other content does not verify: the checks above can fail.
      EXPECT_EQ(
          fixtures::OpensslCmsVerify(*der, env_->ca_path(),
                                     detached ? std::optional<std::string>("other") : std::nullopt)
              .code(),
          detached ? absl::StatusCode::kInvalidArgument : absl::StatusCode::kOk);
    }
  }
}

TEST_F(SignedDataTest, CarriesTheSignedAttributesSmimeRequires) {
  const absl::Time when = absl::FromUnixSeconds(1795000000);
  absl::StatusOr<std::string> der =
      SignDetached(Context(), kContent, SignerFor("rsa"), {.signing_time = when});
  ASSERT_THAT(der, IsOk());
  CmsPtr cms = Parse(*der);
  ASSERT_TRUE(cms);
  ASSERT_EQ(CMS_get0_content(cms.get()) == nullptr ? nullptr : *CMS_get0_content(cms.get()),
            nullptr)
      << "a detached signature carries no content";
  STACK_OF(CMS_SignerInfo)* signers = CMS_get0_SignerInfos(cms.get());
  ASSERT_EQ(sk_CMS_SignerInfo_num(signers), 1);
  CMS_SignerInfo* si = sk_CMS_SignerInfo_value(signers, 0);
  for (int nid : {NID_pkcs9_contentType, NID_pkcs9_messageDigest, NID_pkcs9_signingTime,
                  NID_id_smime_aa_signingCertificateV2, NID_SMIMECapabilities}) {
    EXPECT_GE(CMS_signed_get_attr_by_NID(si, nid, -1), 0) << OBJ_nid2ln(nid);
  }
  // The signing time is the one asked for.
  X509_ATTRIBUTE* time_attribute =
      CMS_signed_get_attr(si, CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1));
  ASN1_TYPE* time_value = X509_ATTRIBUTE_get0_type(time_attribute, 0);
  ASSERT_NE(time_value, nullptr);
  struct tm parts = {};
  ASSERT_EQ(ASN1_TIME_to_tm(reinterpret_cast<ASN1_TIME*>(time_value->value.asn1_string), &parts),
            1);
  EXPECT_EQ(absl::FromTM(parts, absl::UTCTimeZone()), when);
  // SMIMECapabilities: AES-256-GCM first, nothing older than AES, and
  // RSAES-OAEP last (the key transport the appliance prefers).
  X509_ATTRIBUTE* capability_attribute =
      CMS_signed_get_attr(si, CMS_signed_get_attr_by_NID(si, NID_SMIMECapabilities, -1));
  ASN1_TYPE* capability_value = X509_ATTRIBUTE_get0_type(capability_attribute, 0);
  ASSERT_TRUE(capability_value != nullptr && capability_value->type == V_ASN1_SEQUENCE);
  const unsigned char* cursor = capability_value->value.sequence->data;
  STACK_OF(X509_ALGOR)* capabilities =
      d2i_X509_ALGORS(nullptr, &cursor, capability_value->value.sequence->length);
  ASSERT_NE(capabilities, nullptr);
  ASSERT_GE(sk_X509_ALGOR_num(capabilities), 1);
  const ASN1_OBJECT* first = nullptr;
  X509_ALGOR_get0(&first, nullptr, nullptr, sk_X509_ALGOR_value(capabilities, 0));
  EXPECT_EQ(OBJ_obj2nid(first), NID_aes_256_gcm);
  const int count = sk_X509_ALGOR_num(capabilities);
  for (int i = 0; i + 1 < count; ++i) {
    const ASN1_OBJECT* object = nullptr;
    X509_ALGOR_get0(&object, nullptr, nullptr, sk_X509_ALGOR_value(capabilities, i));
    EXPECT_THAT(absl::AsciiStrToLower(OBJ_nid2sn(OBJ_obj2nid(object))), HasSubstr("aes"));
  }
  const ASN1_OBJECT* last = nullptr;
  int last_parameter_type = 0;
  X509_ALGOR_get0(&last, &last_parameter_type, nullptr,
                  sk_X509_ALGOR_value(capabilities, count - 1));
  EXPECT_EQ(OBJ_obj2nid(last), NID_rsaesOaep);
  EXPECT_EQ(last_parameter_type, V_ASN1_SEQUENCE);  // SHA-256, not the SHA-1 default
  sk_X509_ALGOR_pop_free(capabilities, X509_ALGOR_free);
  // The signer's certificate travels with the signature.
  X509StackPtr certificates(CMS_get1_certs(cms.get()));
  ASSERT_EQ(sk_X509_num(certificates.get()), 1);
  EXPECT_EQ(X509_cmp(sk_X509_value(certificates.get(), 0), env_->certificate("rsa")), 0);
}

// signingCertificateV2 (RFC 5035) carries the hash, with the signature's
// digest, of the certificate of the key that signed: built once per
// certificate and digest, so signatures by several keys and digests in turn
// must each still name their own.
TEST_F(SignedDataTest, SigningCertificateV2NamesTheSignersOwnCertificate) {
  struct Case {
    const char* key;
    DigestAlgorithm digest;
    const EVP_MD* md;
  };
  const Case cases[] = {{"rsa", DigestAlgorithm::kSha256, EVP_sha256()},
                        {"p256", DigestAlgorithm::kSha256, EVP_sha256()},
                        {"rsa", DigestAlgorithm::kSha384, EVP_sha384()},
                        {"p384", DigestAlgorithm::kSha384, EVP_sha384()},
                        {"rsa", DigestAlgorithm::kSha256, EVP_sha256()}};
  auto hash_of = [](X509* certificate, const EVP_MD* md) {
    unsigned char hash[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EXPECT_EQ(X509_digest(certificate, md, hash, &length), 1);
    return std::string(reinterpret_cast<char*>(hash), length);
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::string> der =
        SignDetached(Context(), kContent, SignerFor(c.key), {.digest = c.digest});
    ASSERT_THAT(der, IsOk());
    CmsPtr cms = Parse(*der);
    ASSERT_TRUE(cms);
    CMS_SignerInfo* si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms.get()), 0);
    const int index = CMS_signed_get_attr_by_NID(si, NID_id_smime_aa_signingCertificateV2, -1);
    ASSERT_GE(index, 0);
    ASSERT_EQ(CMS_signed_get_attr_by_NID(si, NID_id_smime_aa_signingCertificateV2, index), -1)
        << "one signingCertificateV2 attribute";
    ASN1_TYPE* value = X509_ATTRIBUTE_get0_type(CMS_signed_get_attr(si, index), 0);
    ASSERT_TRUE(value != nullptr && value->type == V_ASN1_SEQUENCE);
    const std::string encoded(reinterpret_cast<const char*>(value->value.sequence->data),
                              static_cast<size_t>(value->value.sequence->length));
    for (const char* other : {"rsa", "p256", "p384"}) {
      const bool own = std::string(other) == c.key;
      EXPECT_EQ(absl::StrContains(encoded, hash_of(env_->certificate(other), c.md)), own)
          << c.key << " signing, " << other << "'s certificate hash";
    }
  }
}

TEST_F(SignedDataTest, IncludesTheChainGiven) {
  Signer signer = SignerFor("p256");
  signer.chain.push_back(env_->ca().certificate());
  absl::StatusOr<std::string> der = SignDetached(Context(), kContent, signer, {});
  ASSERT_THAT(der, IsOk());
  CmsPtr cms = Parse(*der);
  X509StackPtr certificates(CMS_get1_certs(cms.get()));
  EXPECT_EQ(sk_X509_num(certificates.get()), 2);
}

// Detached signatures come from a template per signer, kept in the
// signer's cache (signed_data_template.h); each must still carry its own
// time, digest and chain.
TEST_F(SignedDataTest, SignaturesFromOneSignersTemplatesEachCarryTheirOwnValues) {
  const struct {
    std::string key;
    DigestAlgorithm digest;
  } cases[] = {{"rsa", DigestAlgorithm::kSha256}, {"p384", DigestAlgorithm::kSha384}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.key);
    SignerTemplateCache templates;
    Signer signer = SignerFor(c.key);
    signer.templates = &templates;
    for (const absl::Time when :
         {absl::FromUnixSeconds(1795000000), absl::FromUnixSeconds(1795000001),
          // 2052: GeneralizedTime, a template of its own.
          absl::FromUnixSeconds(2600000000), absl::FromUnixSeconds(1795000002)}) {
      SCOPED_TRACE(absl::FormatTime(when));
      for (const std::string& content : {std::string(kContent), std::string("another content")}) {
        absl::StatusOr<std::string> der =
            SignDetached(Context(), content, signer, {.digest = c.digest, .signing_time = when});
        ASSERT_THAT(der, IsOk());
        EXPECT_THAT(fixtures::OpensslCmsVerify(*der, env_->ca_path(), content), IsOk());
        CmsPtr cms = Parse(*der);
        ASSERT_TRUE(cms);
        // OpenSSL writes back exactly these bytes.
        EXPECT_EQ((DerOf<CMS_ContentInfo, i2d_CMS_ContentInfo>(cms.get())), *der);
        CMS_SignerInfo* si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms.get()), 0);
        ASN1_TYPE* time_value = X509_ATTRIBUTE_get0_type(
            CMS_signed_get_attr(si, CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1)), 0);
        ASSERT_NE(time_value, nullptr);
        struct tm parts = {};
        ASSERT_EQ(
            ASN1_TIME_to_tm(reinterpret_cast<ASN1_TIME*>(time_value->value.asn1_string), &parts),
            1);
        EXPECT_EQ(absl::FromTM(parts, absl::UTCTimeZone()), when);
      }
    }
  }
  // The same signer and cache with a chain, then without: each as given.
  SignerTemplateCache templates;
  for (size_t chain : {1u, 0u, 1u}) {
    Signer signer = SignerFor("p256");
    signer.templates = &templates;
    if (chain == 1) signer.chain.push_back(env_->ca().certificate());
    absl::StatusOr<std::string> der = SignDetached(Context(), kContent, signer, {});
    ASSERT_THAT(der, IsOk());
    CmsPtr cms = Parse(*der);
    X509StackPtr certificates(CMS_get1_certs(cms.get()));
    EXPECT_EQ(sk_X509_num(certificates.get()), static_cast<int>(1 + chain));
  }
}

TEST_F(SignedDataTest, RsaPssAndSha512AreSelectable) {
  absl::StatusOr<std::string> der = SignDetached(
      Context(), kContent, SignerFor("rsa"), {.digest = DigestAlgorithm::kSha512, .rsa_pss = true});
  ASSERT_THAT(der, IsOk());
  CmsPtr cms = Parse(*der);
  CMS_SignerInfo* si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms.get()), 0);
  X509_ALGOR* digest = nullptr;
  X509_ALGOR* signature = nullptr;
  CMS_SignerInfo_get0_algs(si, nullptr, nullptr, &digest, &signature);
  const ASN1_OBJECT* object = nullptr;
  X509_ALGOR_get0(&object, nullptr, nullptr, digest);
  EXPECT_EQ(OBJ_obj2nid(object), NID_sha512);
  int parameter_type = V_ASN1_UNDEF;
  const void* parameter = nullptr;
  X509_ALGOR_get0(&object, &parameter_type, &parameter, signature);
  EXPECT_EQ(OBJ_obj2nid(object), NID_rsassaPss);
  // MGF1 with the signature's own digest, and a salt as long as it.
  ASSERT_EQ(parameter_type, V_ASN1_SEQUENCE);
  const auto* sequence = static_cast<const ASN1_STRING*>(parameter);
  const unsigned char* cursor = ASN1_STRING_get0_data(sequence);
  OsslPtr<RSA_PSS_PARAMS, RSA_PSS_PARAMS_free> pss(
      d2i_RSA_PSS_PARAMS(nullptr, &cursor, ASN1_STRING_length(sequence)));
  ASSERT_NE(pss, nullptr);
  ASSERT_NE(pss->maskGenAlgorithm, nullptr);
  ASSERT_EQ(pss->maskGenAlgorithm->parameter->type, V_ASN1_SEQUENCE);
  const ASN1_STRING* mgf1 = pss->maskGenAlgorithm->parameter->value.sequence;
  cursor = ASN1_STRING_get0_data(mgf1);
  X509AlgorPtr mgf1_digest(d2i_X509_ALGOR(nullptr, &cursor, ASN1_STRING_length(mgf1)));
  ASSERT_NE(mgf1_digest, nullptr);
  X509_ALGOR_get0(&object, nullptr, nullptr, mgf1_digest.get());
  EXPECT_EQ(OBJ_obj2nid(object), NID_sha512);
  EXPECT_EQ(ASN1_INTEGER_get(pss->saltLength), 64);
  EXPECT_THAT(fixtures::OpensslCmsVerify(*der, env_->ca_path(), std::string(kContent)), IsOk());

  EXPECT_EQ(SignDetached(Context(), kContent, SignerFor("p256"), {.rsa_pss = true}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(SignedDataTest, DigestOnlySignatureVerifiesAgainstTheContent) {
  for (const auto& [key, digest] :
       {std::pair{"rsa", DigestAlgorithm::kSha256}, std::pair{"p384", DigestAlgorithm::kSha384}}) {
    SCOPED_TRACE(key);
    const std::string hash = fixtures::Digest(
        digest == DigestAlgorithm::kSha256 ? HashAlgorithm::kSha256 : HashAlgorithm::kSha384,
        kContent);
    absl::StatusOr<std::string> der =
        SignDigest(Context(), hash, SignerFor(key), {.digest = digest});
    ASSERT_THAT(der, IsOk());
    ExpectVerifiedByEveryone(*der, /*detached=*/true);
    EXPECT_EQ(fixtures::OpensslCmsVerify(*der, env_->ca_path(), std::string("other")).code(),
              absl::StatusCode::kInvalidArgument);
    // The same attributes as a signature over the content.
    CmsPtr cms = Parse(*der);
    CMS_SignerInfo* si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms.get()), 0);
    EXPECT_EQ(CMS_signed_get_attr_count(si), 5);
  }
}

// RSA-PSS from a digest alone, which OpenSSL's CMS_SignerInfo_sign could
// not encode: verified by every tool, and with the signature algorithm
// OpenSSL itself writes when it signs the content (the attached form).
TEST_F(SignedDataTest, DigestOnlyRsaPssSignaturesVerifyWithOpenSslsAlgorithm) {
  for (const auto& [digest, hash] : {std::pair{DigestAlgorithm::kSha256, HashAlgorithm::kSha256},
                                     std::pair{DigestAlgorithm::kSha512, HashAlgorithm::kSha512}}) {
    SCOPED_TRACE(HashName(hash));
    const SignOptions options{.digest = digest, .rsa_pss = true};
    absl::StatusOr<std::string> from_digest =
        SignDigest(Context(), fixtures::Digest(hash, kContent), SignerFor("rsa"), options);
    ASSERT_THAT(from_digest, IsOk());
    absl::StatusOr<std::string> detached =
        SignDetached(Context(), kContent, SignerFor("rsa"), options);
    ASSERT_THAT(detached, IsOk());
    absl::StatusOr<std::string> attached =
        SignAttached(Context(), kContent, SignerFor("rsa"), options);
    ASSERT_THAT(attached, IsOk());
    if (digest == DigestAlgorithm::kSha256) {
      ExpectVerifiedByEveryone(*from_digest, /*detached=*/true);
    } else {
      EXPECT_THAT(fixtures::OpensslCmsVerify(*from_digest, env_->ca_path(), std::string(kContent)),
                  IsOk());
      EXPECT_THAT(gpgsm_->Verify(*from_digest, std::string(kContent)), IsOk());
      // Not certtool: GnuTLS 3.7 reads RSA-PSS in PKCS#7 as SHA-256 whatever
      // the parameters say, and refuses OpenSSL's own attached signature
      // with SHA-512 just the same (tried when this test was written).
    }
    auto algorithm_of = [](const std::string& der) {
      CmsPtr cms = Parse(der);
      X509_ALGOR* algorithm = nullptr;
      CMS_SignerInfo_get0_algs(sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms.get()), 0), nullptr,
                               nullptr, nullptr, &algorithm);
      return DerOf<X509_ALGOR, i2d_X509_ALGOR>(algorithm);
    };
    const std::string by_openssl = algorithm_of(*attached);
    ASSERT_FALSE(by_openssl.empty());
    EXPECT_EQ(algorithm_of(*from_digest), by_openssl);
    EXPECT_EQ(algorithm_of(*detached), by_openssl);
  }
}

TEST_F(SignedDataTest, ContentInPiecesIsSignedAsTheJoinedContent) {
  const absl::string_view content = kContent;
  // Split at every kind of place: inside the header, at the empty line,
  // inside the body; an empty piece too.
  const std::vector<absl::string_view> pieces = {content.substr(0, 7), content.substr(7, 38),
                                                 content.substr(45, 0), content.substr(45, 9),
                                                 content.substr(54)};
  for (const auto& [key, pss] : {std::pair{"rsa", true}, std::pair{"p256", false}}) {
    SCOPED_TRACE(key);
    absl::StatusOr<std::string> der =
        SignDetachedPieces(Context(), pieces, SignerFor(key), {.rsa_pss = pss});
    ASSERT_THAT(der, IsOk());
    ExpectVerifiedByEveryone(*der, /*detached=*/true);
    // Not a signature over the first piece alone, nor over another text.
    EXPECT_EQ(fixtures::OpensslCmsVerify(*der, env_->ca_path(), std::string(pieces[0])).code(),
              absl::StatusCode::kInvalidArgument);
  }
}

TEST_F(SignedDataTest, DigestOfTheWrongLengthIsRefused) {
  absl::StatusOr<std::string> der =
      SignDigest(Context(), std::string(20, 'x'), SignerFor("rsa"), {});
  EXPECT_EQ(der.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(der.status().message(), HasSubstr("32 bytes, not 20"));
}

TEST_F(SignedDataTest, CertificateOfAnotherKeyIsRefused) {
  Signer signer{.key = env_->key("rsa"), .certificate = env_->certificate("p256")};
  absl::StatusOr<std::string> der = SignDetached(Context(), kContent, signer, {});
  EXPECT_EQ(der.status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace signet::cms
