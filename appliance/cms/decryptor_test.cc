// Encryption to token keys' certificates and decryption with the token keys:
// every key transport and content cipher, sign-then-encrypt, and the one
// uniform error for every way decryption can fail.
#include "appliance/cms/decryptor.h"

#include <openssl/cms.h>
#include <openssl/rsa.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "appliance/cms/cms_reader.h"
#include "appliance/cms/decryption_algorithms.h"
#include "appliance/cms/detached_ciphertext.h"
#include "appliance/cms/mail_encryptor.h"
#include "appliance/cms/mime.h"
#include "appliance/cms/smime_format.h"
#include "appliance/cms/verifier.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/cms_verifiers.h"
#include "tests/fixtures/provider_env.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/subprocess.h"

namespace signet::cms {
namespace {

using ::signet::matchers::IsOk;
using ::signet::matchers::StatusIs;
using ::testing::Not;

using fixtures::ProviderEnv;
using ::testing::HasSubstr;

constexpr char kMail[] =
    "From: Statements <statements@bank.example>\r\n"
    "To: customer@example.org\r\n"
    "Subject: Your statement\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "Balance on 27 November: 1,234.56 EUR.\r\n";
constexpr char kEntity[] =
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "Balance on 27 November: 1,234.56 EUR.\r\n";

class DecryptorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<ProviderEnv>> env = ProviderEnv::Create(
        {{.name = "sign", .id_hex = "01", .key_type = "EC:prime256v1"},
         {.name = "rsa-dec", .id_hex = "02", .key_type = "rsa:2048", .for_encryption = true},
         {.name = "ec-dec", .id_hex = "03", .key_type = "EC:prime256v1", .for_encryption = true},
         {.name = "other-dec", .id_hex = "04", .key_type = "rsa:2048", .for_encryption = true}});
    ASSERT_THAT(env, IsOk());
    env_ = env->release();
  }
  static void TearDownTestSuite() { delete env_; }

  CmsContext Context() const { return {.libctx = env_->libctx()}; }
  Recipient RecipientFor(const std::string& name) const {
    return {.key = env_->key(name), .certificate = env_->certificate(name)};
  }
  std::string EncryptTo(const std::vector<std::string>& names, EncryptOptions options = {}) {
    std::vector<X509*> recipients;
    for (const std::string& name : names) recipients.push_back(env_->certificate(name));
    absl::StatusOr<std::string> mail = EncryptMail(Context(), kMail, recipients, options);
    EXPECT_THAT(mail, IsOk());
    return mail.value_or("");
  }
  absl::StatusOr<DecryptedMail> Decrypt(absl::string_view mail, const std::string& name) {
    return DecryptMail(Context(), mail, RecipientFor(name));
  }
  static void ExpectUniformFailure(const absl::StatusOr<DecryptedMail>& result) {
    ASSERT_THAT(result, Not(IsOk()));
    EXPECT_EQ(result.status(), absl::InvalidArgumentError(kDecryptionFailed));
  }

  // The mail's CMS structure, and the mail rebuilt around a changed one.
  static std::string DerOf(const std::string& mail) {
    absl::StatusOr<MimeEntity> entity = ParseEntity(mail, Limits{});
    EXPECT_THAT(entity, IsOk());
    absl::StatusOr<std::string> der = CmsBytesOf(*entity);
    EXPECT_THAT(der, IsOk());
    return der.value_or("");
  }
  static std::string MailWith(const std::string& der, bool authenticated = true) {
    return Pkcs7MimeEntity(
        der, authenticated ? SmimeType::kAuthEnvelopedData : SmimeType::kEnvelopedData);
  }

  // A token key's certificate as a file, for the openssl command line.
  static std::string CertificatePath(const std::string& name) {
    const std::string path = env_->dir().File(name + ".pem");
    EXPECT_THAT(fixtures::WritePem(path, env_->certificate(name)), IsOk());
    return path;
  }
  // The PKCS#11 calls made so far, to show that a check needed none.
  static std::map<std::string, uint64_t> TokenCalls() {
    return env_->token().module->counters().Snapshot();
  }
  // `der` with the first `from` replaced by `to` (of the same length).
  static std::string Replaced(const std::string& der, const std::string& from,
                              const std::string& to) {
    std::string changed = der;
    const size_t at = der.find(from);
    EXPECT_NE(at, std::string::npos);
    if (at != std::string::npos) changed.replace(at, from.size(), to);
    return changed;
  }

  static ProviderEnv* env_;
};

ProviderEnv* DecryptorTest::env_ = nullptr;

TEST_F(DecryptorTest, EveryKeyTransportAndCipherRoundTrips) {
  const struct {
    const char* recipient;
    ContentCipher cipher;
    RsaKeyTransport transport;
  } cases[] = {
      {"rsa-dec", ContentCipher::kAes256Gcm, RsaKeyTransport::kOaepSha256},
      {"rsa-dec", ContentCipher::kAes256Cbc, RsaKeyTransport::kOaepSha256},
      {"rsa-dec", ContentCipher::kAes256Gcm, RsaKeyTransport::kPkcs1},
      {"rsa-dec", ContentCipher::kAes128Cbc, RsaKeyTransport::kPkcs1},
      {"ec-dec", ContentCipher::kAes256Gcm, RsaKeyTransport::kOaepSha256},
      {"ec-dec", ContentCipher::kAes128Gcm, RsaKeyTransport::kOaepSha256},
      {"ec-dec", ContentCipher::kAes256Cbc, RsaKeyTransport::kOaepSha256},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(testing::Message() << c.recipient << " cipher " << static_cast<int>(c.cipher)
                                    << " transport " << static_cast<int>(c.transport));
    std::string mail =
        EncryptTo({c.recipient}, {.cipher = c.cipher, .rsa_key_transport = c.transport});
    EXPECT_THAT(mail, HasSubstr("Subject: Your statement\r\n"));
    EXPECT_THAT(mail, ::testing::Not(HasSubstr("1,234.56")));
    EXPECT_THAT(mail, HasSubstr(IsAuthenticated(c.cipher) ? "smime-type=authEnveloped-data"
                                                          : "smime-type=enveloped-data"));
    absl::StatusOr<DecryptedMail> decrypted = Decrypt(mail, c.recipient);
    ASSERT_THAT(decrypted, IsOk());
    EXPECT_EQ(decrypted->entity(), kEntity);
    EXPECT_EQ(decrypted->authenticated, IsAuthenticated(c.cipher));
    EXPECT_THAT(decrypted->mail, HasSubstr("Subject: Your statement\r\nMIME-Version: 1.0\r\n"));
    EXPECT_THAT(decrypted->mail, HasSubstr(kEntity));
  }
}

// signetd's variants, which take the mail and free it early, give what the
// others give, failures included.
TEST_F(DecryptorTest, TheOwningVariantsGiveTheSameResults) {
  absl::StatusOr<std::string> encrypted =
      EncryptOwnedMail(Context(), std::string(kMail), {env_->certificate("rsa-dec")}, {});
  ASSERT_THAT(encrypted, IsOk());
  EXPECT_THAT(*encrypted, HasSubstr("Subject: Your statement\r\n"));
  EXPECT_THAT(*encrypted, Not(HasSubstr("1,234.56")));
  absl::StatusOr<DecryptedMail> owned =
      DecryptOwnedMail(Context(), *encrypted, RecipientFor("rsa-dec"));
  ASSERT_THAT(owned, IsOk());
  absl::StatusOr<DecryptedMail> viewed = Decrypt(*encrypted, "rsa-dec");
  ASSERT_THAT(viewed, IsOk());
  EXPECT_EQ(owned->mail, viewed->mail);
  EXPECT_EQ(owned->entity(), kEntity);
  EXPECT_EQ(owned->entity_offset, viewed->entity_offset);
  EXPECT_EQ(owned->authenticated, viewed->authenticated);
  // Not the key's: the same uniform failure.
  ExpectUniformFailure(DecryptOwnedMail(Context(), *encrypted, RecipientFor("other-dec")));
  const absl::StatusOr<std::string> refused = EncryptOwnedMail(
      Context(), "not a header\r\n\r\nbody\r\n", {env_->certificate("rsa-dec")}, {});
  EXPECT_THAT(refused, Not(IsOk()));
  EXPECT_EQ(refused.status(), EncryptMail(Context(), "not a header\r\n\r\nbody\r\n",
                                          {env_->certificate("rsa-dec")}, {})
                                  .status());
}

// The owned mail is decrypted where it lies: the result is the mail's own
// buffer (decoded, then decrypted over its ciphertext), not a copy.
TEST_F(DecryptorTest, TheOwnedMailIsDecryptedInItsOwnBuffer) {
  std::string large_entity = "Content-Type: text/plain\r\n\r\n";
  for (int line = 0; line < 4000; ++line)
    absl::StrAppend(&large_entity, std::string(74, 'x'), "\r\n");
  for (ContentCipher cipher : {ContentCipher::kAes256Gcm, ContentCipher::kAes256Cbc}) {
    for (const std::string& entity : {std::string(kEntity), large_entity}) {
      absl::StatusOr<std::string> encrypted =
          EncryptMail(Context(), absl::StrCat("Subject: Your statement\r\n", entity),
                      {env_->certificate("rsa-dec")}, {.cipher = cipher});
      ASSERT_THAT(encrypted, IsOk());
      ASSERT_TRUE(DetachCiphertext(DerOf(*encrypted)).has_value());
      std::string given = *encrypted;
      const char* const buffer = given.data();
      const size_t capacity = given.capacity();
      absl::StatusOr<DecryptedMail> owned =
          DecryptOwnedMail(Context(), std::move(given), RecipientFor("rsa-dec"));
      ASSERT_THAT(owned, IsOk());
      EXPECT_TRUE(owned->entity() == entity);
      EXPECT_TRUE(owned->mail ==
                  absl::StrCat("Subject: Your statement\r\nMIME-Version: 1.0\r\n", entity));
      EXPECT_EQ(owned->mail.data(), buffer) << "the plaintext was not written over the mail";
      EXPECT_EQ(owned->mail.capacity(), capacity);
    }
  }
}

// DER sent as binary is decrypted where it lies, without decoding. A head
// longer than the room before the ciphertext (header fields with bare line
// feeds, each of which gains a CR) cannot go in front of the plaintext in
// the mail's buffer: that mail is decrypted apart, to the same result.
TEST_F(DecryptorTest, BinaryDerAndAHeadLongerThanTheRoomBeforeTheCiphertext) {
  const std::string der = DerOf(EncryptTo({"rsa-dec"}));
  const std::optional<DetachedCiphertext> detached = DetachCiphertext(der);
  ASSERT_TRUE(detached.has_value());
  std::string binary = absl::StrCat(
      "Subject: Your statement\r\nMIME-Version: 1.0\r\n"
      "Content-Type: application/pkcs7-mime; smime-type=authEnveloped-data; name=smime.p7m\r\n"
      "Content-Transfer-Encoding: binary\r\n\r\n",
      der);
  absl::StatusOr<DecryptedMail> viewed = Decrypt(binary, "rsa-dec");
  ASSERT_THAT(viewed, IsOk());
  EXPECT_EQ(viewed->entity(), kEntity);
  const char* buffer = binary.data();
  absl::StatusOr<DecryptedMail> owned =
      DecryptOwnedMail(Context(), std::move(binary), RecipientFor("rsa-dec"));
  ASSERT_THAT(owned, IsOk());
  EXPECT_EQ(owned->mail, viewed->mail);
  EXPECT_EQ(owned->mail.data(), buffer);

  // More bare line feeds in the header block than bytes before the
  // ciphertext in the DER (within the 1000 header fields allowed).
  const size_t fields = detached->offset + 200;
  ASSERT_LT(fields, 990u);
  std::string long_head;
  for (size_t i = 0; i < fields; ++i) absl::StrAppend(&long_head, "X-Hop: ", i % 10, "\n");
  std::string mail = long_head + MailWith(der);
  viewed = Decrypt(mail, "rsa-dec");
  ASSERT_THAT(viewed, IsOk());
  EXPECT_EQ(viewed->entity(), kEntity);
  EXPECT_THAT(viewed->mail, HasSubstr("X-Hop: 9\r\nX-Hop: 0\r\n"));
  buffer = mail.data();
  owned = DecryptOwnedMail(Context(), std::move(mail), RecipientFor("rsa-dec"));
  ASSERT_THAT(owned, IsOk());
  EXPECT_EQ(owned->mail, viewed->mail);
  EXPECT_NE(owned->mail.data(), buffer);
}

// Mails as `openssl cms -encrypt` writes them, EnvelopedData and
// AuthEnvelopedData; with -stream in BER with indefinite lengths and the
// ciphertext in a constructed OCTET STRING, which is parsed whole instead
// (DetachCiphertext leaves it). Both variants decrypt every one.
TEST_F(DecryptorTest, OpensslMadeMailsDecryptInPlaceAndStreamedOnesByTheParsedPath) {
  const std::string certificate = CertificatePath("rsa-dec");
  const std::string large_entity = absl::StrCat(
      "Content-Type: application/octet-stream\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n",
      Base64Encode(std::string(200000, '\x5a')));
  const std::string in_path = env_->dir().File("openssl-entity.txt");
  const std::string out_path = env_->dir().File("openssl-encrypted.eml");
  for (const std::string& entity : {std::string(kEntity), large_entity}) {
    {
      std::ofstream in(in_path, std::ios::binary | std::ios::trunc);
      in << entity;
    }
    for (const char* cipher : {"aes-256-cbc", "aes-256-gcm"}) {
      for (bool stream : {false, true}) {
        SCOPED_TRACE(absl::StrCat(cipher, stream ? " -stream " : " ", entity.size()));
        std::vector<std::string> argv = {
            "openssl",  "cms",      "-encrypt", "-binary",
            "-outform", "SMIME",    "-crlfeol", absl::StrCat("-", cipher),
            "-in",      in_path,    "-out",     out_path,
            "-recip",   certificate};
        if (stream) argv.push_back("-stream");
        ASSERT_THAT(fixtures::RunCommandOk(argv, {}, {}, absl::Seconds(60)), IsOk());
        std::stringstream read;
        read << std::ifstream(out_path, std::ios::binary).rdbuf();
        const std::string mail = absl::StrReplaceAll(
            absl::StrReplaceAll(read.str(), {{"\r\n", "\n"}}), {{"\n", "\r\n"}});
        EXPECT_EQ(DetachCiphertext(DerOf(mail)).has_value(), !stream);
        absl::StatusOr<DecryptedMail> viewed = Decrypt(mail, "rsa-dec");
        ASSERT_THAT(viewed, IsOk());
        EXPECT_TRUE(viewed->entity() == entity);
        EXPECT_EQ(viewed->authenticated, absl::StrContains(cipher, "gcm"));
        absl::StatusOr<DecryptedMail> owned =
            DecryptOwnedMail(Context(), mail, RecipientFor("rsa-dec"));
        ASSERT_THAT(owned, IsOk());
        EXPECT_TRUE(owned->mail == viewed->mail);
        EXPECT_EQ(owned->entity_offset, viewed->entity_offset);
      }
    }
  }
}

// Decrypted in place, a changed ciphertext or tag byte (GCM) or padding
// (CBC) is refused with the uniform error by both variants, at the start,
// the middle and the end of a ciphertext of many blocks.
TEST_F(DecryptorTest, AChangedCiphertextOrTagByteIsRefusedInPlace) {
  const std::string entity =
      absl::StrCat("Content-Type: text/plain\r\n\r\n", std::string(100000, 'y'), "\r\n");
  for (ContentCipher cipher : {ContentCipher::kAes256Gcm, ContentCipher::kAes256Cbc}) {
    const bool authenticated = IsAuthenticated(cipher);
    absl::StatusOr<std::string> encrypted =
        EncryptMail(Context(), entity, {env_->certificate("rsa-dec")}, {.cipher = cipher});
    ASSERT_THAT(encrypted, IsOk());
    const std::string der = DerOf(*encrypted);
    const std::optional<DetachedCiphertext> detached = DetachCiphertext(der);
    ASSERT_TRUE(detached.has_value());
    const size_t end = detached->offset + detached->size;
    // GCM: anywhere in the ciphertext, and the tag (the last OCTET STRING
    // of the structure). CBC has no integrity (docs/cms.md): the block
    // before the last, which breaks the padding.
    const std::vector<size_t> positions =
        authenticated ? std::vector<size_t>{detached->offset, detached->offset + detached->size / 2,
                                            end - 1, der.size() - 16, der.size() - 1}
                      : std::vector<size_t>{end - 17};
    for (size_t at : positions) {
      SCOPED_TRACE(absl::StrCat(authenticated ? "GCM" : "CBC", " byte ", at));
      std::string changed = der;
      changed[at] ^= 0x01;
      const std::string mail = MailWith(changed, authenticated);
      ExpectUniformFailure(Decrypt(mail, "rsa-dec"));
      ExpectUniformFailure(DecryptOwnedMail(Context(), mail, RecipientFor("rsa-dec")));
    }
  }
}

TEST_F(DecryptorTest, OaepIsTheDefaultAndUsesSha256) {
  CmsPtr cms = ParseCms({}, DerOf(EncryptTo({"rsa-dec"}))).value();
  STACK_OF(CMS_RecipientInfo)* infos = CMS_get0_RecipientInfos(cms.get());
  ASSERT_EQ(sk_CMS_RecipientInfo_num(infos), 1);
  X509_ALGOR* algorithm = nullptr;
  ASSERT_EQ(CMS_RecipientInfo_ktri_get0_algs(sk_CMS_RecipientInfo_value(infos, 0), nullptr, nullptr,
                                             &algorithm),
            1);
  const ASN1_OBJECT* object = nullptr;
  int parameter_type = 0;
  const void* parameter = nullptr;
  X509_ALGOR_get0(&object, &parameter_type, &parameter, algorithm);
  EXPECT_EQ(OBJ_obj2nid(object), NID_rsaesOaep);
  ASSERT_EQ(parameter_type, V_ASN1_SEQUENCE);
  const auto* sequence = static_cast<const ASN1_STRING*>(parameter);
  const unsigned char* cursor = ASN1_STRING_get0_data(sequence);
  OsslPtr<RSA_OAEP_PARAMS, RSA_OAEP_PARAMS_free> oaep(
      d2i_RSA_OAEP_PARAMS(nullptr, &cursor, ASN1_STRING_length(sequence)));
  ASSERT_TRUE(oaep && oaep->hashFunc && oaep->maskGenFunc);
  X509_ALGOR_get0(&object, nullptr, nullptr, oaep->hashFunc);
  EXPECT_EQ(OBJ_obj2nid(object), NID_sha256);
  // MGF1 with SHA-256: the mask generation function's own parameter.
  X509_ALGOR_get0(&object, &parameter_type, &parameter, oaep->maskGenFunc);
  EXPECT_EQ(OBJ_obj2nid(object), NID_mgf1);
  ASSERT_EQ(parameter_type, V_ASN1_SEQUENCE);
  sequence = static_cast<const ASN1_STRING*>(parameter);
  cursor = ASN1_STRING_get0_data(sequence);
  OsslPtr<X509_ALGOR, X509_ALGOR_free> mgf1_hash(
      d2i_X509_ALGOR(nullptr, &cursor, ASN1_STRING_length(sequence)));
  ASSERT_TRUE(mgf1_hash);
  X509_ALGOR_get0(&object, nullptr, nullptr, mgf1_hash.get());
  EXPECT_EQ(OBJ_obj2nid(object), NID_sha256);
}

// pkijs encrypts with RSA-OAEP and SHA-512 by default; openssl cms with any
// hash it is given, MGF1 with the same one unless told otherwise. On SoftHSM,
// which does OAEP with SHA-1 only, the SHA-2 ones are unpadded in software.
TEST_F(DecryptorTest, OaepWithEveryHashFromOpensslDecrypts) {
  const std::string certificate = CertificatePath("rsa-dec");
  for (const char* hash : {"sha1", "sha256", "sha384", "sha512"}) {
    for (bool mgf1_given : {false, true}) {
      for (const char* cipher : {"aes-256-gcm", "aes-128-cbc"}) {
        std::vector<std::string> keyopts = {"rsa_padding_mode:oaep",
                                            absl::StrCat("rsa_oaep_md:", hash)};
        if (mgf1_given) keyopts.push_back(absl::StrCat("rsa_mgf1_md:", hash));
        SCOPED_TRACE(absl::StrCat(hash, mgf1_given ? " with rsa_mgf1_md " : " ", cipher));
        absl::StatusOr<std::string> mail =
            fixtures::OpensslSmimeEncrypt(kEntity, certificate, cipher, false, keyopts);
        ASSERT_THAT(mail, IsOk());
        absl::StatusOr<DecryptedMail> decrypted = Decrypt(*mail, "rsa-dec");
        ASSERT_THAT(decrypted, IsOk());
        EXPECT_EQ(decrypted->entity(), kEntity);
      }
    }
  }
}

// The key transport and the content encryption are in clear: one Signet
// does not decrypt is named, before the token is used, rather than reported
// as a mail that could not be decrypted.
TEST_F(DecryptorTest, AKeyTransportSignetDoesNotDecryptIsNamedBeforeTheTokenIsUsed) {
  const std::string certificate = CertificatePath("rsa-dec");
  const struct {
    std::vector<std::string> keyopts;
    const char* named;
  } cases[] = {
      {{"rsa_oaep_md:sha224"}, "RSA-OAEP with SHA-224 and MGF1 with SHA-224"},
      {{"rsa_oaep_md:sha512", "rsa_mgf1_md:sha256"}, "RSA-OAEP with SHA-512 and MGF1 with SHA-256"},
      {{"rsa_oaep_md:sha256", "rsa_mgf1_md:sha1"}, "RSA-OAEP with SHA-256 and MGF1 with SHA-1"},
      {{"rsa_oaep_md:sha3-256"}, "RSA-OAEP with sha3-256 and MGF1 with sha3-256"},
      {{"rsa_oaep_md:sha256", "rsa_oaep_label:0102"}, "RSA-OAEP with a label"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.named);
    std::vector<std::string> keyopts = {"rsa_padding_mode:oaep"};
    keyopts.insert(keyopts.end(), c.keyopts.begin(), c.keyopts.end());
    absl::StatusOr<std::string> mail =
        fixtures::OpensslSmimeEncrypt(kEntity, certificate, "aes-256-gcm", false, keyopts);
    ASSERT_THAT(mail, IsOk());
    const auto before = TokenCalls();
    EXPECT_THAT(Decrypt(*mail, "rsa-dec"),
                StatusIs(absl::StatusCode::kUnimplemented,
                         HasSubstr(absl::StrCat("the mail's key transport is ", c.named,
                                                ", which Signet does not decrypt (it decrypts "
                                                "RSA PKCS#1 v1.5, and RSA-OAEP with SHA-1, "
                                                "SHA-256, SHA-384 or SHA-512"))));
    EXPECT_EQ(TokenCalls(), before) << "the token was used";
  }

  // A key transport that is not RSA encryption at all (rsaEncryption made
  // sha256WithRSAEncryption).
  const std::string der =
      DerOf(EncryptTo({"rsa-dec"}, {.cipher = ContentCipher::kAes256Gcm,
                                    .rsa_key_transport = RsaKeyTransport::kPkcs1}));
  const std::string rsa_encryption("\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01", 11);
  std::string sha256_with_rsa = rsa_encryption;
  sha256_with_rsa.back() = '\x0b';
  EXPECT_THAT(Decrypt(MailWith(Replaced(der, rsa_encryption, sha256_with_rsa)), "rsa-dec"),
              StatusIs(absl::StatusCode::kUnimplemented,
                       HasSubstr("key transport is sha256WithRSAEncryption, which Signet")));
}

TEST_F(DecryptorTest, OnlyTheRecipientInfoForTheKeyIsChecked) {
  // The first RecipientInfo in the encoding (DER sorts the SET, so either
  // recipient's) gets a key transport Signet does not decrypt; the other's
  // is untouched.
  const std::string der =
      DerOf(EncryptTo({"other-dec", "rsa-dec"}, {.rsa_key_transport = RsaKeyTransport::kPkcs1}));
  const std::string rsa_encryption("\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01", 11);
  std::string sha256_with_rsa = rsa_encryption;
  sha256_with_rsa.back() = '\x0b';
  const std::string changed = Replaced(der, rsa_encryption, sha256_with_rsa);
  CmsPtr cms = ParseCms({}, changed).value();
  STACK_OF(CMS_RecipientInfo)* infos = CMS_get0_RecipientInfos(cms.get());
  ASSERT_EQ(sk_CMS_RecipientInfo_num(infos), 2);
  std::string changed_for;
  for (const char* name : {"rsa-dec", "other-dec"}) {
    for (int i = 0; i < 2; ++i) {
      CMS_RecipientInfo* info = sk_CMS_RecipientInfo_value(infos, i);
      X509_ALGOR* algorithm = nullptr;
      ASSERT_EQ(CMS_RecipientInfo_ktri_get0_algs(info, nullptr, nullptr, &algorithm), 1);
      const ASN1_OBJECT* object = nullptr;
      X509_ALGOR_get0(&object, nullptr, nullptr, algorithm);
      if (CMS_RecipientInfo_ktri_cert_cmp(info, env_->certificate(name)) == 0 &&
          OBJ_obj2nid(object) == NID_sha256WithRSAEncryption) {
        changed_for = name;
      }
    }
  }
  ASSERT_FALSE(changed_for.empty());
  const std::string untouched = changed_for == "rsa-dec" ? "other-dec" : "rsa-dec";
  const std::string mail = MailWith(changed);
  absl::StatusOr<DecryptedMail> decrypted = Decrypt(mail, untouched);
  ASSERT_THAT(decrypted, IsOk());
  EXPECT_EQ(decrypted->entity(), kEntity);
  EXPECT_THAT(Decrypt(mail, changed_for), StatusIs(absl::StatusCode::kUnimplemented));
}

TEST_F(DecryptorTest, AContentEncryptionSignetDoesNotDecryptIsNamedBeforeTheTokenIsUsed) {
  // id-aes256-CBC, -GCM and -CCM differ in their last byte; 99 is no AES OID.
  const std::string aes256("\x06\x09\x60\x86\x48\x01\x65\x03\x04\x01", 10);
  const auto oid = [&aes256](char last) { return aes256 + std::string(1, last); };
  const struct {
    ContentCipher cipher;
    char from;
    char to;
    const char* named;
  } cases[] = {
      {ContentCipher::kAes256Gcm, 46, 47, "aes-256-ccm in AuthEnvelopedData"},
      {ContentCipher::kAes256Gcm, 46, 42, "aes-256-cbc in AuthEnvelopedData"},
      {ContentCipher::kAes256Cbc, 42, 46, "aes-256-gcm in EnvelopedData"},
      {ContentCipher::kAes256Cbc, 42, 99, "2.16.840.1.101.3.4.1.99 in EnvelopedData"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.named);
    const std::string der = DerOf(EncryptTo({"rsa-dec"}, {.cipher = c.cipher}));
    const std::string mail =
        MailWith(Replaced(der, oid(c.from), oid(c.to)), IsAuthenticated(c.cipher));
    const auto before = TokenCalls();
    EXPECT_THAT(Decrypt(mail, "rsa-dec"),
                StatusIs(absl::StatusCode::kUnimplemented,
                         HasSubstr(absl::StrCat("the mail's content encryption is ", c.named,
                                                ", which Signet does not decrypt"))));
    EXPECT_EQ(TokenCalls(), before) << "the token was used";
  }
}

TEST_F(DecryptorTest, SeveralRecipientsEachDecrypt) {
  std::string mail = EncryptTo({"rsa-dec", "ec-dec", "other-dec"});
  for (const char* name : {"rsa-dec", "ec-dec", "other-dec"}) {
    absl::StatusOr<DecryptedMail> decrypted = Decrypt(mail, name);
    ASSERT_THAT(decrypted, IsOk()) << name << ": " << decrypted.status();
    EXPECT_EQ(decrypted->entity(), kEntity);
  }
}

TEST_F(DecryptorTest, SignThenEncryptDecryptsToAVerifiableSignedEntity) {
  Signer signer{.key = env_->key("sign"), .certificate = env_->certificate("sign")};
  absl::StatusOr<std::string> mail =
      SignAndEncryptMail(Context(), kMail, signer, {}, {env_->certificate("rsa-dec")}, {});
  ASSERT_THAT(mail, IsOk());
  absl::StatusOr<DecryptedMail> decrypted = Decrypt(*mail, "rsa-dec");
  ASSERT_THAT(decrypted, IsOk());
  EXPECT_THAT(std::string(decrypted->entity()), HasSubstr("multipart/signed"));
  absl::StatusOr<TrustStore> trust = TrustStore::FromCertificates({env_->ca().certificate()});
  ASSERT_THAT(trust, IsOk());
  absl::StatusOr<VerifiedMail> verified = VerifyMail(Context(), decrypted->mail, *trust);
  ASSERT_THAT(verified, IsOk());
  EXPECT_EQ(verified->signed_entity, kEntity);
}

TEST_F(DecryptorTest, WrongKeyTamperedKeyTransportTamperedContentAndTruncationAreUniform) {
  for (ContentCipher cipher : {ContentCipher::kAes256Gcm, ContentCipher::kAes256Cbc}) {
    for (RsaKeyTransport transport : {RsaKeyTransport::kOaepSha256, RsaKeyTransport::kPkcs1}) {
      SCOPED_TRACE(testing::Message() << "cipher " << static_cast<int>(cipher) << " transport "
                                      << static_cast<int>(transport));
      const bool authenticated = IsAuthenticated(cipher);
      const std::string mail =
          EncryptTo({"rsa-dec"}, {.cipher = cipher, .rsa_key_transport = transport});
      const std::string der = DerOf(mail);
      ASSERT_THAT(Decrypt(mail, "rsa-dec"), IsOk());

      // Encrypted to someone else.
      ExpectUniformFailure(Decrypt(mail, "other-dec"));
      // The encrypted content key changed: for RSA-2048 it is the one
      // 256-byte OCTET STRING.
      const size_t key_at = der.find(std::string("\x04\x82\x01\x00", 4));
      ASSERT_NE(key_at, std::string::npos);
      std::string tampered = der;
      tampered[key_at + 4 + 100] ^= 0x40;
      ExpectUniformFailure(Decrypt(MailWith(tampered, authenticated), "rsa-dec"));
      // The content changed: with GCM anywhere in the ciphertext (just
      // before the 16-byte tag); with CBC in the block before the last,
      // which breaks the padding.
      tampered = der;
      tampered[der.size() - (authenticated ? 16 + 2 + 5 : 17)] ^= 0x01;
      ExpectUniformFailure(Decrypt(MailWith(tampered, authenticated), "rsa-dec"));
      // Cut short, in the mail or in the structure.
      ExpectUniformFailure(Decrypt(mail.substr(0, mail.size() / 2), "rsa-dec"));
      ExpectUniformFailure(
          Decrypt(MailWith(der.substr(0, der.size() - 10), authenticated), "rsa-dec"));
    }
  }
}

TEST_F(DecryptorTest, NoBitFlipReleasesOtherPlaintextFromAuthEnvelopedData) {
  const std::string der = DerOf(EncryptTo({"rsa-dec"}, {.cipher = ContentCipher::kAes256Gcm}));
  int refused = 0;
  for (size_t i = 0; i < der.size(); i += 3) {
    std::string flipped = der;
    flipped[i] ^= static_cast<char>(1 << (i % 8));
    absl::StatusOr<DecryptedMail> result = Decrypt(MailWith(flipped), "rsa-dec");
    if (result.ok()) {
      // A bit outside what is authenticated (say, a version number) may
      // change nothing; the content must then be the original.
      EXPECT_EQ(result->entity(), kEntity) << "flip at " << i;
    } else if (result.status().code() == absl::StatusCode::kUnimplemented) {
      // An algorithm identifier, read in clear, turned into one Signet does
      // not decrypt: named, and the key was not used.
      EXPECT_THAT(result.status().message(), HasSubstr(kNotDecryptedBySignet)) << "flip at " << i;
      ++refused;
    } else {
      EXPECT_EQ(result.status(), absl::InvalidArgumentError(kDecryptionFailed)) << "flip at " << i;
      ++refused;
    }
  }
  EXPECT_GT(refused, static_cast<int>(der.size() / 3) * 9 / 10);
}

TEST_F(DecryptorTest, ErrorsThatDoNotDependOnTheCiphertextAreClear) {
  // Not encrypted at all.
  absl::StatusOr<DecryptedMail> result = Decrypt(kMail, "rsa-dec");
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("not an encrypted S/MIME mail"));
  // A certificate that is not the key's.
  result = DecryptMail(Context(), EncryptTo({"rsa-dec"}),
                       {.key = env_->key("rsa-dec"), .certificate = env_->certificate("ec-dec")});
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  // Over the size limit.
  CmsContext context = Context();
  context.limits.max_message_bytes = 100;
  result = DecryptMail(context, EncryptTo({"rsa-dec"}), RecipientFor("rsa-dec"));
  EXPECT_THAT(result.status().message(), HasSubstr("over the limit of 100 bytes"));
}

TEST_F(DecryptorTest, RecipientsThatCannotReceiveAreRefused) {
  // A signing certificate (keyUsage digitalSignature) is not a recipient.
  absl::StatusOr<std::string> mail = EncryptMail(Context(), kMail, {env_->certificate("sign")}, {});
  EXPECT_EQ(mail.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(mail.status().message(), HasSubstr("keyAgreement"));
  absl::StatusOr<X509Ptr> expired = env_->ca().Issue(
      env_->public_key("rsa-dec"), "Expired", "old@example.org",
      {.validity = absl::Hours(1), .not_before_offset = -absl::Hours(2), .for_encryption = true});
  ASSERT_THAT(expired, IsOk());
  mail = EncryptMail(Context(), kMail, {expired->get()}, {});
  EXPECT_THAT(mail.status().message(), HasSubstr("has expired"));
  mail = EncryptMail(Context(), kMail, {}, {});
  EXPECT_EQ(mail.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace signet::cms
