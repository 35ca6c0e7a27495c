// Signet's S/MIME mails against independent implementations, both ways:
// openssl (its own S/MIME parser), gpgsm (libksba) and GnuTLS certtool accept
// what Signet signs and open what it encrypts; Signet verifies and decrypts
// what they make. Signet's keys are on a SoftHSM2 token, used through its
// provider; the peers' keys are software keys of the tools.
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "appliance/cms/decryptor.h"
#include "appliance/cms/mail_encryptor.h"
#include "appliance/cms/mail_signer.h"
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

using fixtures::ProviderEnv;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kHeaders[] =
    "From: Statements <statements@bank.example>\r\n"
    "To: peer@example.org\r\n"
    "Subject: Your statement\r\n"
    "Message-ID: <statement-7@bank.example>\r\n";
constexpr char kEntity[] =
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "Balance on 27 November: 1,234.56 EUR after 3 transfers.\r\n";

// A software key pair of a peer, with its certificate and files.
struct Peer {
  EvpPkeyPtr key;
  X509Ptr certificate;
  std::string key_path;
  std::string certificate_path;
};

class SmimeInteropTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<ProviderEnv>> env = ProviderEnv::Create(
        {{.name = "rsa", .id_hex = "01", .key_type = "rsa:2048"},
         {.name = "p256", .id_hex = "02", .key_type = "EC:prime256v1"},
         {.name = "rsa-dec", .id_hex = "03", .key_type = "rsa:2048", .for_encryption = true},
         {.name = "ec-dec", .id_hex = "04", .key_type = "EC:prime256v1", .for_encryption = true}});
    ASSERT_THAT(env, IsOk());
    env_ = env->release();
    for (const auto& [name, type, for_encryption] :
         {std::tuple{"signer", "RSA:2048", false}, std::tuple{"rsa-recipient", "RSA:2048", true},
          std::tuple{"ec-recipient", "EC:P-256", true}}) {
      Peer peer;
      absl::StatusOr<EvpPkeyPtr> key = fixtures::GenerateKey(type);
      ASSERT_THAT(key, IsOk());
      peer.key = std::move(*key);
      absl::StatusOr<X509Ptr> certificate =
          env_->ca().Issue(peer.key.get(), absl::StrCat("Peer ", name), "peer@example.org",
                           {.for_encryption = for_encryption});
      ASSERT_THAT(certificate, IsOk());
      peer.certificate = std::move(*certificate);
      peer.key_path = env_->dir().File(absl::StrCat(name, ".key"));
      peer.certificate_path = env_->dir().File(absl::StrCat(name, ".pem"));
      ASSERT_THAT(fixtures::WritePrivateKeyPem(peer.key_path, peer.key.get()), IsOk());
      ASSERT_THAT(fixtures::WritePem(peer.certificate_path, peer.certificate.get()), IsOk());
      peers_->emplace(name, std::move(peer));
    }
    for (const char* name : {"rsa-dec", "ec-dec"}) {
      ASSERT_THAT(fixtures::WritePem(TokenCertificatePath(name), env_->certificate(name)), IsOk());
    }
    absl::StatusOr<fixtures::GpgsmHome> gpgsm = fixtures::GpgsmHome::Create();
    ASSERT_THAT(gpgsm, IsOk());
    gpgsm_ = new fixtures::GpgsmHome(std::move(*gpgsm));
    ASSERT_THAT(gpgsm_->TrustRoot(env_->ca().certificate()), IsOk());
    for (const char* name : {"signer", "rsa-recipient"}) {
      const Peer& peer = peers_->at(name);
      absl::Status imported = gpgsm_->ImportPrivateKey(peer.key.get(), peer.certificate.get());
      ASSERT_THAT(imported, IsOk());
    }
  }
  static void TearDownTestSuite() {
    delete gpgsm_;
    peers_->clear();
    delete env_;
  }

  static std::string TokenCertificatePath(const std::string& name) {
    return env_->dir().File(name + "-token.pem");
  }
  CmsContext Context() const { return {.libctx = env_->libctx()}; }
  Signer SignerFor(const std::string& name) const {
    return {.key = env_->key(name), .certificate = env_->certificate(name)};
  }
  Recipient RecipientFor(const std::string& name) const {
    return {.key = env_->key(name), .certificate = env_->certificate(name)};
  }
  absl::StatusOr<VerifiedMail> Verify(const std::string& mail) {
    absl::StatusOr<TrustStore> trust = TrustStore::FromCertificates({env_->ca().certificate()});
    if (!trust.ok()) return trust.status();
    return VerifyMail(Context(), mail, *trust);
  }
  static const Peer& PeerNamed(const std::string& name) { return peers_->at(name); }

  static ProviderEnv* env_;
  static fixtures::GpgsmHome* gpgsm_;
  static std::map<std::string, Peer>* peers_;
};

ProviderEnv* SmimeInteropTest::env_ = nullptr;
fixtures::GpgsmHome* SmimeInteropTest::gpgsm_ = nullptr;
std::map<std::string, Peer>* SmimeInteropTest::peers_ = new std::map<std::string, Peer>();

// --- Signet signs -----------------------------------------------------------

TEST_F(SmimeInteropTest, OpensslVerifiesSignetsSignedMails) {
  for (const char* key : {"rsa", "p256"}) {
    for (SignedForm form : {SignedForm::kMultipartSigned, SignedForm::kOpaque}) {
      SCOPED_TRACE(testing::Message() << key << (form == SignedForm::kOpaque ? " opaque" : ""));
      absl::StatusOr<std::string> mail =
          SignMail(Context(), absl::StrCat(kHeaders, kEntity), SignerFor(key), {.form = form});
      ASSERT_THAT(mail, IsOk());
      EXPECT_THAT(*mail, HasSubstr(kHeaders));
      std::string content;
      absl::Status verified = fixtures::OpensslSmimeVerify(*mail, env_->ca_path(), &content);
      EXPECT_THAT(verified, IsOk());
      EXPECT_EQ(content, kEntity);
      // And refuses it changed: the check above can fail.
      const std::string changed = absl::StrReplaceAll(*mail, {{"3 transfers", "4 transfers"}});
      if (form == SignedForm::kMultipartSigned) {
        EXPECT_EQ(fixtures::OpensslSmimeVerify(changed, env_->ca_path()).code(),
                  absl::StatusCode::kInvalidArgument);
      }
    }
  }
}

TEST_F(SmimeInteropTest, OpensslSmimeCommandVerifiesSignetsSignedMails) {
  // `openssl smime` is OpenSSL's older PKCS#7 code, not its CMS code: one
  // more independent reader.
  for (SignedForm form : {SignedForm::kMultipartSigned, SignedForm::kOpaque}) {
    absl::StatusOr<std::string> mail =
        SignMail(Context(), absl::StrCat(kHeaders, kEntity), SignerFor("p256"), {.form = form});
    ASSERT_THAT(mail, IsOk());
    const std::string path = env_->dir().File("smime-command.eml");
    std::ofstream(path, std::ios::binary | std::ios::trunc) << *mail;
    absl::StatusOr<fixtures::CommandResult> result = fixtures::RunCommand(
        {"openssl", "smime", "-verify", "-in", path, "-CAfile", env_->ca_path()});
    ASSERT_THAT(result, IsOk());
    EXPECT_EQ(result->exit_code, 0) << result->err;
    EXPECT_THAT(result->err, HasSubstr("Verification successful"));
    EXPECT_THAT(result->out, HasSubstr("1,234.56 EUR after 3 transfers"));
  }
}

TEST_F(SmimeInteropTest, GpgsmAndCerttoolVerifySignetsDetachedSignatures) {
  for (const char* key : {"rsa", "p256"}) {
    SCOPED_TRACE(key);
    absl::StatusOr<std::string> mail =
        SignMail(Context(), absl::StrCat(kHeaders, kEntity), SignerFor(key), {});
    ASSERT_THAT(mail, IsOk());
    absl::StatusOr<fixtures::SmimeParts> parts = fixtures::SplitSmimeWithOpenssl(*mail);
    ASSERT_THAT(parts, IsOk());
    ASSERT_TRUE(parts->detached_content.has_value());
    EXPECT_EQ(*parts->detached_content, kEntity);
    absl::Status gpgsm = gpgsm_->Verify(parts->cms_der, parts->detached_content);
    EXPECT_THAT(gpgsm, IsOk());
    absl::Status certtool =
        fixtures::CerttoolP7Verify(parts->cms_der, env_->ca_path(), parts->detached_content);
    EXPECT_THAT(certtool, IsOk());
    EXPECT_EQ(gpgsm_->Verify(parts->cms_der, std::string("changed")).code(),
              absl::StatusCode::kInvalidArgument);
  }
}

TEST_F(SmimeInteropTest, EveryToolVerifiesRsaPssWithItsDigestLengthSalt) {
  absl::StatusOr<std::string> mail = SignMail(Context(), absl::StrCat(kHeaders, kEntity),
                                              SignerFor("rsa"), {.sign = {.rsa_pss = true}});
  ASSERT_THAT(mail, IsOk());
  EXPECT_THAT(fixtures::OpensslSmimeVerify(*mail, env_->ca_path()), IsOk());
  absl::StatusOr<fixtures::SmimeParts> parts = fixtures::SplitSmimeWithOpenssl(*mail);
  ASSERT_THAT(parts, IsOk());
  // gpgsm refuses (and then crashes on) OpenSSL's default maximal salt.
  absl::Status gpgsm = gpgsm_->Verify(parts->cms_der, parts->detached_content);
  EXPECT_THAT(gpgsm, IsOk());
  absl::Status certtool =
      fixtures::CerttoolP7Verify(parts->cms_der, env_->ca_path(), parts->detached_content);
  EXPECT_THAT(certtool, IsOk());
}

TEST_F(SmimeInteropTest, DigestOnlySignaturesVerifyWithEveryTool) {
  const std::string digest = fixtures::Digest(HashAlgorithm::kSha256, kEntity);
  absl::StatusOr<std::string> der = SignDigest(Context(), digest, SignerFor("rsa"), {});
  ASSERT_THAT(der, IsOk());
  const std::string mail =
      absl::StrCat(kHeaders, "MIME-Version: 1.0\r\n",
                   MultipartSignedEntity(kEntity, *der, DigestAlgorithm::kSha256));
  EXPECT_THAT(fixtures::OpensslSmimeVerify(mail, env_->ca_path()), IsOk());
  EXPECT_THAT(gpgsm_->Verify(*der, std::string(kEntity)), IsOk());
  EXPECT_THAT(fixtures::CerttoolP7Verify(*der, env_->ca_path(), std::string(kEntity)), IsOk());
  EXPECT_THAT(Verify(mail), IsOk());
}

// --- the tools sign, Signet verifies -----------------------------------------

TEST_F(SmimeInteropTest, SignetVerifiesMailsSignedByOpenssl) {
  const Peer& signer = PeerNamed("signer");
  for (bool detached : {true, false}) {
    SCOPED_TRACE(detached ? "multipart/signed" : "opaque");
    absl::StatusOr<std::string> signed_mail =
        fixtures::OpensslSmimeSign(kEntity, signer.certificate_path, signer.key_path, detached);
    ASSERT_THAT(signed_mail, IsOk());
    const std::string mail = absl::StrCat(kHeaders, *signed_mail);
    absl::StatusOr<VerifiedMail> verified = Verify(mail);
    ASSERT_THAT(verified, IsOk());
    EXPECT_EQ(verified->signed_entity, kEntity);
    EXPECT_EQ(verified->signers[0].subject, "CN=Peer signer");
    if (detached) {
      // A change to the first part is seen; the check above can fail.
      absl::StatusOr<VerifiedMail> changed =
          Verify(absl::StrReplaceAll(mail, {{"3 transfers", "4 transfers"}}));
      EXPECT_EQ(VerifyFailureOf(changed.status()), VerifyFailure::kContentChanged);
    }
  }
}

TEST_F(SmimeInteropTest, SignetVerifiesSignaturesMadeByGpgsm) {
  const Peer& signer = PeerNamed("signer");
  for (bool detached : {true, false}) {
    SCOPED_TRACE(detached ? "detached" : "opaque");
    absl::StatusOr<std::string> der = gpgsm_->Sign(kEntity, signer.certificate.get(), detached);
    ASSERT_THAT(der, IsOk());
    const std::string entity = detached
                                   ? MultipartSignedEntity(kEntity, *der, DigestAlgorithm::kSha256)
                                   : Pkcs7MimeEntity(*der, SmimeType::kSignedData);
    absl::StatusOr<VerifiedMail> verified =
        Verify(absl::StrCat(kHeaders, "MIME-Version: 1.0\r\n", entity));
    ASSERT_THAT(verified, IsOk());
    EXPECT_EQ(verified->signed_entity, kEntity);
    EXPECT_EQ(verified->signers[0].subject, "CN=Peer signer");
  }
}

// --- Signet encrypts, the tools decrypt -------------------------------------

TEST_F(SmimeInteropTest, OpensslDecryptsSignetsEncryptedMails) {
  const struct {
    const char* peer;
    EncryptOptions options;
  } cases[] = {
      {"rsa-recipient", {}},  // AES-256-GCM, RSA-OAEP
      {"rsa-recipient", {.cipher = ContentCipher::kAes256Cbc}},
      {"rsa-recipient", {.rsa_key_transport = RsaKeyTransport::kPkcs1}},
      {"ec-recipient", {}},  // AES-256-GCM, ECDH
      {"ec-recipient", {.cipher = ContentCipher::kAes128Cbc}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(testing::Message() << c.peer << " cipher " << static_cast<int>(c.options.cipher));
    const Peer& peer = PeerNamed(c.peer);
    absl::StatusOr<std::string> mail = EncryptMail(Context(), absl::StrCat(kHeaders, kEntity),
                                                   {peer.certificate.get()}, c.options);
    ASSERT_THAT(mail, IsOk());
    absl::StatusOr<std::string> entity =
        fixtures::OpensslSmimeDecrypt(*mail, peer.certificate_path, peer.key_path);
    ASSERT_THAT(entity, IsOk());
    EXPECT_EQ(*entity, kEntity);
  }
}

TEST_F(SmimeInteropTest, GpgsmDecryptsSignetsCbcPkcs1Mails) {
  // gpgsm 2.2.40 decrypts neither OAEP nor AES-GCM (see cms_verifiers.h).
  const Peer& peer = PeerNamed("rsa-recipient");
  absl::StatusOr<std::string> mail = EncryptMail(
      Context(), absl::StrCat(kHeaders, kEntity), {peer.certificate.get()},
      {.cipher = ContentCipher::kAes256Cbc, .rsa_key_transport = RsaKeyTransport::kPkcs1});
  ASSERT_THAT(mail, IsOk());
  absl::StatusOr<fixtures::SmimeParts> parts = fixtures::SplitSmimeWithOpenssl(*mail);
  ASSERT_THAT(parts, IsOk());
  absl::StatusOr<std::string> entity = gpgsm_->Decrypt(parts->cms_der);
  ASSERT_THAT(entity, IsOk());
  EXPECT_EQ(*entity, kEntity);
}

TEST_F(SmimeInteropTest, OpensslOpensSignetsSignedAndEncryptedMail) {
  const Peer& peer = PeerNamed("rsa-recipient");
  absl::StatusOr<std::string> mail =
      SignAndEncryptMail(Context(), absl::StrCat(kHeaders, kEntity), SignerFor("rsa"), {},
                         {peer.certificate.get()}, {});
  ASSERT_THAT(mail, IsOk());
  absl::StatusOr<std::string> inner =
      fixtures::OpensslSmimeDecrypt(*mail, peer.certificate_path, peer.key_path);
  ASSERT_THAT(inner, IsOk());
  std::string content;
  absl::Status verified = fixtures::OpensslSmimeVerify(*inner, env_->ca_path(), &content);
  EXPECT_THAT(verified, IsOk());
  EXPECT_EQ(content, kEntity);
}

// --- the tools encrypt to a token key, Signet decrypts ---------------------

TEST_F(SmimeInteropTest, SignetDecryptsMailsEncryptedByOpenssl) {
  const struct {
    const char* key;
    const char* cipher;
    bool oaep;
    std::vector<std::string> keyopts;
  } cases[] = {
      {"rsa-dec", "aes-256-cbc", false, {}},
      {"rsa-dec", "aes-256-gcm", false, {}},
      {"rsa-dec", "aes-256-gcm", true, {}},
      // OAEP with SHA-1 (openssl's default digest), SHA-384 and SHA-512
      // (pkijs' default); SoftHSM does only the first, the others are
      // unpadded in software after a raw RSA decryption on the token.
      {"rsa-dec", "aes-256-cbc", false, {"rsa_padding_mode:oaep"}},
      {"rsa-dec", "aes-256-gcm", false, {"rsa_padding_mode:oaep", "rsa_oaep_md:sha384"}},
      {"rsa-dec",
       "aes-256-gcm",
       false,
       {"rsa_padding_mode:oaep", "rsa_oaep_md:sha384", "rsa_mgf1_md:sha384"}},
      {"rsa-dec", "aes-256-gcm", false, {"rsa_padding_mode:oaep", "rsa_oaep_md:sha512"}},
      {"rsa-dec",
       "aes-128-cbc",
       false,
       {"rsa_padding_mode:oaep", "rsa_oaep_md:sha512", "rsa_mgf1_md:sha512"}},
      {"ec-dec", "aes-256-gcm", false, {}},
      {"ec-dec", "aes-128-cbc", false, {"ecdh_kdf_md:sha256"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(testing::Message() << c.key << " " << c.cipher << (c.oaep ? " oaep " : " ")
                                    << absl::StrJoin(c.keyopts, " "));
    absl::StatusOr<std::string> encrypted = fixtures::OpensslSmimeEncrypt(
        kEntity, TokenCertificatePath(c.key), c.cipher, c.oaep, c.keyopts);
    ASSERT_THAT(encrypted, IsOk());
    absl::StatusOr<DecryptedMail> decrypted =
        DecryptMail(Context(), absl::StrCat(kHeaders, *encrypted), RecipientFor(c.key));
    ASSERT_THAT(decrypted, IsOk());
    EXPECT_EQ(decrypted->entity(), kEntity);
    EXPECT_THAT(decrypted->mail, HasSubstr(kHeaders));
  }
}

// What openssl can make but Signet does not decrypt is named (the key
// transport is in clear in the RecipientInfo), not reported as a mail that
// could not be decrypted, which would look like tampering or a token fault.
TEST_F(SmimeInteropTest, SignetNamesAnOaepVariantItDoesNotDecrypt) {
  const struct {
    std::vector<std::string> keyopts;
    const char* named;
  } cases[] = {
      {{"rsa_oaep_md:sha224"}, "RSA-OAEP with SHA-224 and MGF1 with SHA-224"},
      {{"rsa_oaep_md:sha512", "rsa_mgf1_md:sha384"}, "RSA-OAEP with SHA-512 and MGF1 with SHA-384"},
      {{"rsa_oaep_md:sha512", "rsa_oaep_label:00ff"}, "RSA-OAEP with a label"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.named);
    std::vector<std::string> keyopts = {"rsa_padding_mode:oaep"};
    keyopts.insert(keyopts.end(), c.keyopts.begin(), c.keyopts.end());
    absl::StatusOr<std::string> encrypted = fixtures::OpensslSmimeEncrypt(
        kEntity, TokenCertificatePath("rsa-dec"), "aes-256-gcm", false, keyopts);
    ASSERT_THAT(encrypted, IsOk());
    absl::StatusOr<DecryptedMail> decrypted =
        DecryptMail(Context(), absl::StrCat(kHeaders, *encrypted), RecipientFor("rsa-dec"));
    ASSERT_THAT(decrypted, Not(IsOk()));
    EXPECT_EQ(decrypted.status().code(), absl::StatusCode::kUnimplemented) << decrypted.status();
    EXPECT_THAT(decrypted.status().message(),
                HasSubstr(absl::StrCat("the mail's key transport is ", c.named,
                                       ", which Signet does not decrypt")));
    EXPECT_THAT(decrypted.status().message(), Not(HasSubstr(kDecryptionFailed)));
  }
}

TEST_F(SmimeInteropTest, SignetDecryptsMailsEncryptedByGpgsm) {
  absl::StatusOr<std::string> ber = gpgsm_->Encrypt(kEntity, env_->certificate("rsa-dec"));
  ASSERT_THAT(ber, IsOk());
  absl::StatusOr<DecryptedMail> decrypted =
      DecryptMail(Context(),
                  absl::StrCat(kHeaders, "MIME-Version: 1.0\r\n",
                               Pkcs7MimeEntity(*ber, SmimeType::kEnvelopedData)),
                  RecipientFor("rsa-dec"));
  ASSERT_THAT(decrypted, IsOk());
  EXPECT_EQ(decrypted->entity(), kEntity);
}

}  // namespace
}  // namespace signet::cms
