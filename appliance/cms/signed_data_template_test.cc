// The template taken from OpenSSL's encoding of an unsigned SignedData (a
// software key here; signed_data_test.cc signs through tokens and has
// openssl, certtool and gpgsm verify), completed and read back by OpenSSL.
#include "appliance/cms/signed_data_template.h"

#include <openssl/asn1.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "common/der.h"
#include "common/ossl_ptr.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/test_pki.h"

namespace signet::cms {
namespace {

using ::signet::matchers::IsOk;
using ::testing::HasSubstr;

constexpr size_t kDigestLength = 32;

std::string Encoded(const CMS_ContentInfo* cms) {
  return DerOf<CMS_ContentInfo, i2d_CMS_ContentInfo>(cms);
}

class SignedDataTemplateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<fixtures::TestCa> ca = fixtures::TestCa::Create();
    ASSERT_THAT(ca, IsOk());
    ca_ = std::make_unique<fixtures::TestCa>(std::move(*ca));
    absl::StatusOr<EvpPkeyPtr> key = fixtures::GenerateKey("EC:P-256");
    ASSERT_THAT(key, IsOk());
    key_ = std::move(*key);
    absl::StatusOr<X509Ptr> certificate = ca_->Issue(key_.get(), "Template Test");
    ASSERT_THAT(certificate, IsOk());
    certificate_ = std::move(*certificate);
  }

  // What signed_data.cc's template is made from: OpenSSL's detached
  // SignedData, prepared but not signed, with a digest of zeros, at `when`.
  CmsPtr Prepared(absl::Time when) const {
    CmsPtr cms(CMS_sign_ex(nullptr, nullptr, nullptr, nullptr,
                           CMS_BINARY | CMS_PARTIAL | CMS_DETACHED, nullptr, nullptr));
    CMS_SignerInfo* signer = CMS_add1_signer(cms.get(), certificate_.get(), key_.get(),
                                             EVP_sha256(), CMS_BINARY | CMS_NOSMIMECAP);
    EXPECT_NE(signer, nullptr);
    Asn1TimePtr time(ASN1_TIME_set(nullptr, absl::ToTimeT(when)));
    const std::string zeros(kDigestLength, '\0');
    EXPECT_EQ(
        CMS_signed_add1_attr_by_NID(signer, NID_pkcs9_signingTime, time->type, time.get(), -1), 1);
    EXPECT_EQ(CMS_signed_add1_attr_by_NID(signer, NID_pkcs9_messageDigest, V_ASN1_OCTET_STRING,
                                          zeros.data(), static_cast<int>(zeros.size())),
              1);
    EXPECT_EQ(CMS_signed_add1_attr_by_NID(signer, NID_pkcs9_contentType, V_ASN1_OBJECT,
                                          OBJ_nid2obj(NID_pkcs7_data), -1),
              1);
    return cms;
  }
  std::string Unsigned(absl::Time when) const { return Encoded(Prepared(when).get()); }

  static CmsPtr Read(const std::string& der) {
    const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
    CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &cursor, static_cast<long>(der.size())));
    // All of it, nothing after.
    if (cursor != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) return nullptr;
    return cms;
  }

  static CMS_SignerInfo* OnlySigner(CMS_ContentInfo* cms) {
    return sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
  }

  std::unique_ptr<fixtures::TestCa> ca_;
  EvpPkeyPtr key_;
  X509Ptr certificate_;
};

TEST_F(SignedDataTemplateTest, CompletedItIsTheDerOpenSslWritesWithTheValuesGiven) {
  const absl::Time made_at = absl::FromUnixSeconds(1795000000);
  absl::StatusOr<SignedDataTemplate> made =
      SignedDataTemplate::Parse(Unsigned(made_at), kDigestLength);
  ASSERT_THAT(made, IsOk());
  EXPECT_EQ(made->time_form(), TimeForm::kUtcTime);

  const absl::Time signed_at = absl::FromUnixSeconds(1795012345);
  const std::string digest(kDigestLength, '\x5a');
  absl::StatusOr<std::string> attributes =
      made->SignedAttributes(digest, SigningTimeOctets(signed_at));
  ASSERT_THAT(attributes, IsOk());
  // Signatures whose lengths need one, two and three length octets, so
  // that every enclosing length crosses a boundary of its encoding.
  for (size_t length : {size_t{71}, size_t{127}, size_t{128}, size_t{255}, size_t{256}, size_t{512},
                        size_t{70000}}) {
    SCOPED_TRACE(length);
    const std::string signature(length, '\x33');
    const std::string der = made->Complete(*attributes, signature);
    CmsPtr cms = Read(der);
    ASSERT_NE(cms, nullptr);
    // OpenSSL writes back exactly these bytes: the encoding is its DER.
    EXPECT_EQ(Encoded(cms.get()), der);
    CMS_SignerInfo* signer = OnlySigner(cms.get());
    ASSERT_NE(signer, nullptr);
    ASN1_OCTET_STRING* read_signature = CMS_SignerInfo_get0_signature(signer);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(read_signature)),
                          static_cast<size_t>(ASN1_STRING_length(read_signature))),
              signature);
    // The values given, where OpenSSL looks for them.
    const int digest_at = CMS_signed_get_attr_by_NID(signer, NID_pkcs9_messageDigest, -1);
    ASSERT_GE(digest_at, 0);
    ASN1_OCTET_STRING* read_digest = static_cast<ASN1_OCTET_STRING*>(CMS_signed_get0_data_by_OBJ(
        signer, OBJ_nid2obj(NID_pkcs9_messageDigest), -3, V_ASN1_OCTET_STRING));
    ASSERT_NE(read_digest, nullptr);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(read_digest)),
                          static_cast<size_t>(ASN1_STRING_length(read_digest))),
              digest);
    ASN1_TIME* read_time = static_cast<ASN1_TIME*>(CMS_signed_get0_data_by_OBJ(
        signer, OBJ_nid2obj(NID_pkcs9_signingTime), -3, V_ASN1_UTCTIME));
    ASSERT_NE(read_time, nullptr);
    time_t seconds = 0;
    struct tm parts {};
    ASSERT_EQ(ASN1_TIME_to_tm(read_time, &parts), 1);
    seconds = timegm(&parts);
    EXPECT_EQ(seconds, absl::ToTimeT(signed_at));
  }
}

TEST_F(SignedDataTemplateTest, WithOpenSslsSignatureItIsOpenSslsSignedDataByteForByte) {
  const absl::Time when = absl::FromUnixSeconds(1795000000);
  CmsPtr cms = Prepared(when);
  absl::StatusOr<SignedDataTemplate> made =
      SignedDataTemplate::Parse(Encoded(cms.get()), kDigestLength);
  ASSERT_THAT(made, IsOk());
  // OpenSSL signs its own SignedData.
  CMS_SignerInfo* signer = OnlySigner(cms.get());
  ASSERT_EQ(CMS_SignerInfo_sign(signer), 1);
  ASN1_OCTET_STRING* signed_by_openssl = CMS_SignerInfo_get0_signature(signer);
  const std::string signature(
      reinterpret_cast<const char*>(ASN1_STRING_get0_data(signed_by_openssl)),
      static_cast<size_t>(ASN1_STRING_length(signed_by_openssl)));

  absl::StatusOr<std::string> attributes =
      made->SignedAttributes(std::string(kDigestLength, '\0'), SigningTimeOctets(when));
  ASSERT_THAT(attributes, IsOk());
  // The attributes are the bytes OpenSSL signed...
  EvpMdCtxPtr verifier(EVP_MD_CTX_new());
  ASSERT_EQ(EVP_DigestVerifyInit(verifier.get(), nullptr, EVP_sha256(), nullptr, key_.get()), 1);
  EXPECT_EQ(
      EVP_DigestVerify(verifier.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(attributes->data()),
                       attributes->size()),
      1);
  // ... and, with its signature, the whole is what OpenSSL writes.
  EXPECT_EQ(made->Complete(*attributes, signature), Encoded(cms.get()));
  // Another time or digest is not what it signed.
  absl::StatusOr<std::string> other =
      made->SignedAttributes(std::string(kDigestLength, '\1'), SigningTimeOctets(when));
  ASSERT_THAT(other, IsOk());
  EvpMdCtxPtr second(EVP_MD_CTX_new());
  ASSERT_EQ(EVP_DigestVerifyInit(second.get(), nullptr, EVP_sha256(), nullptr, key_.get()), 1);
  EXPECT_NE(EVP_DigestVerify(second.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                             signature.size(),
                             reinterpret_cast<const unsigned char*>(other->data()), other->size()),
            1);
}

TEST_F(SignedDataTemplateTest, AfterTwentyFortyNineTheTimeIsGeneralized) {
  const absl::Time when = absl::FromUnixSeconds(2600000000);  // 2052
  absl::StatusOr<SignedDataTemplate> made = SignedDataTemplate::Parse(Unsigned(when), 32);
  ASSERT_THAT(made, IsOk());
  EXPECT_EQ(made->time_form(), TimeForm::kGeneralizedTime);
  // A UTCTime does not fit it.
  EXPECT_FALSE(made->SignedAttributes(std::string(32, '\0'), "520101000000Z").ok());
  absl::StatusOr<std::string> attributes =
      made->SignedAttributes(std::string(32, '\0'), SigningTimeOctets(when));
  ASSERT_THAT(attributes, IsOk());
  CmsPtr cms = Read(made->Complete(*attributes, "signature"));
  ASSERT_NE(cms, nullptr);
  EXPECT_NE(CMS_signed_get0_data_by_OBJ(OnlySigner(cms.get()), OBJ_nid2obj(NID_pkcs9_signingTime),
                                        -3, V_ASN1_GENERALIZEDTIME),
            nullptr);
}

TEST_F(SignedDataTemplateTest, ACacheMakesEachTemplateOnceAndKeepsNoFailure) {
  SignerTemplateCache cache;
  const std::string unsigned_der = Unsigned(absl::FromUnixSeconds(1795000000));
  int made = 0;
  auto make = [&]() -> absl::StatusOr<SignedDataTemplate> {
    ++made;
    return SignedDataTemplate::Parse(unsigned_der, kDigestLength);
  };
  const SignerTemplateCache::Id sha256{.key = key_.get(), .certificate = certificate_.get()};
  absl::StatusOr<std::shared_ptr<const SignedDataTemplate>> first = cache.Get(sha256, make);
  ASSERT_THAT(first, IsOk());
  absl::StatusOr<std::shared_ptr<const SignedDataTemplate>> again = cache.Get(sha256, make);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(first->get(), again->get());
  EXPECT_EQ(made, 1);
  // Anything else it depends on is another template.
  const SignerTemplateCache::Id others[] = {
      {.key = key_.get(), .certificate = certificate_.get(), .digest = 1},
      {.key = key_.get(), .certificate = certificate_.get(), .rsa_pss = true},
      {.key = key_.get(),
       .certificate = certificate_.get(),
       .time_form = TimeForm::kGeneralizedTime},
      {.key = key_.get(), .certificate = certificate_.get(), .chain = {ca_->certificate()}},
  };
  for (const SignerTemplateCache::Id& other : others) {
    absl::StatusOr<std::shared_ptr<const SignedDataTemplate>> for_it = cache.Get(other, make);
    ASSERT_THAT(for_it, IsOk());
    EXPECT_NE(for_it->get(), first->get());
  }
  EXPECT_EQ(made, 5);
  // A template that could not be made is not kept: the next call tries again.
  const SignerTemplateCache::Id failing{.key = key_.get(), .digest = 7};
  auto fail = [&]() -> absl::StatusOr<SignedDataTemplate> {
    ++made;
    return absl::InternalError("cannot");
  };
  EXPECT_FALSE(cache.Get(failing, fail).ok());
  EXPECT_FALSE(cache.Get(failing, fail).ok());
  EXPECT_EQ(made, 7);
}

TEST(SigningTimeOctetsTest, AreWhatAsn1TimeSetWrites) {
  for (int64_t seconds :
       {int64_t{-631152000} /* 1950 */, int64_t{-631152001}, int64_t{0}, int64_t{1795000000},
        int64_t{2524607999} /* 2049 */, int64_t{2524608000} /* 2050 */, int64_t{4102444800}}) {
    SCOPED_TRACE(seconds);
    // A fraction of a second is dropped, as ASN1_TIME_set drops it.
    const absl::Time when = absl::FromUnixSeconds(seconds) + absl::Milliseconds(750);
    Asn1TimePtr expected(ASN1_TIME_set(nullptr, absl::ToTimeT(when)));
    ASSERT_NE(expected, nullptr);
    EXPECT_EQ(SigningTimeOctets(when),
              std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(expected.get())),
                          static_cast<size_t>(ASN1_STRING_length(expected.get()))));
    EXPECT_EQ(TimeFormOf(when) == TimeForm::kUtcTime, expected->type == V_ASN1_UTCTIME);
  }
}

TEST_F(SignedDataTemplateTest, WhatIsNotAnUnsignedSignedDataIsRefused) {
  const std::string good = Unsigned(absl::FromUnixSeconds(1795000000));
  EXPECT_THAT(SignedDataTemplate::Parse(good, 48).status().message(),
              HasSubstr("messageDigest is not one digest of the expected length"));
  EXPECT_FALSE(SignedDataTemplate::Parse("", 32).ok());
  EXPECT_FALSE(SignedDataTemplate::Parse(good.substr(0, good.size() - 1), 32).ok());
  EXPECT_FALSE(SignedDataTemplate::Parse(good + "x", 32).ok());
  // Once signed, it is no template.
  absl::StatusOr<SignedDataTemplate> made = SignedDataTemplate::Parse(good, 32);
  ASSERT_THAT(made, IsOk());
  absl::StatusOr<std::string> attributes = made->SignedAttributes(
      std::string(32, '\0'), SigningTimeOctets(absl::FromUnixSeconds(1795000000)));
  ASSERT_THAT(attributes, IsOk());
  EXPECT_THAT(SignedDataTemplate::Parse(made->Complete(*attributes, "sig"), 32).status().message(),
              HasSubstr("empty signature"));
  // A digest of another length does not fit it.
  EXPECT_FALSE(made->SignedAttributes(std::string(31, '\0'), "261124000000Z").ok());
}

}  // namespace
}  // namespace signet::cms
