// cms_fuzz_seeds DIR: makes throwaway keys and certificates (DIR/material)
// and seed mails for the verify and decrypt fuzz targets (DIR/verify,
// DIR/decrypt): valid mails of every form the engine makes, and broken ones
// (tampered, truncated, bit-flipped, a signature with embedded content), so
// that fuzzing starts from inputs that reach the cryptography.
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "appliance/cms/fuzz/fuzz_material.h"
#include "appliance/cms/mail_encryptor.h"
#include "appliance/cms/mail_signer.h"
#include "appliance/cms/signed_data.h"
#include "appliance/cms/smime_format.h"
#include "tests/fixtures/test_pki.h"

namespace signet::cms::fuzz {
namespace {

constexpr char kMail[] =
    "From: Statements <statements@bank.example>\r\n"
    "To: customer@example.org\r\n"
    "Subject: Your statement\r\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
    "\r\n"
    "--outer\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "Balance on 27 November: 1,234.56 EUR after 3 transfers.\r\n"
    "--outer\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "AAECAwQFBgcICQ==\r\n"
    "--outer--\r\n";
constexpr char kEntity[] = "Content-Type: text/plain\r\n\r\nshort text\r\n";

class SeedWriter {
 public:
  explicit SeedWriter(std::string dir) : dir_(std::move(dir)) { mkdir(dir_.c_str(), 0755); }
  void Write(const std::string& name, const std::string& data) {
    std::ofstream(absl::StrCat(dir_, "/", name), std::ios::binary) << data;
  }

 private:
  std::string dir_;
};

template <typename T>
T Check(absl::StatusOr<T> value, const char* what) {
  if (!value.ok()) {
    std::fprintf(stderr, "cms_fuzz_seeds: %s: %s\n", what, value.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(*value);
}

std::string FlipByte(std::string data, size_t at) {
  if (!data.empty()) data[at % data.size()] ^= 0x20;
  return data;
}

FuzzMaterial MakeMaterial() {
  fixtures::TestCa ca = Check(fixtures::TestCa::Create("Fuzz CA"), "CA");
  FuzzMaterial material;
  material.signer_key = Check(fixtures::GenerateKey("RSA:2048"), "signer key");
  material.signer =
      Check(ca.Issue(material.signer_key.get(), "Fuzz signer", "signer@bank.example"), "signer");
  material.rsa_recipient_key = Check(fixtures::GenerateKey("RSA:2048"), "RSA recipient key");
  material.rsa_recipient = Check(ca.Issue(material.rsa_recipient_key.get(), "Fuzz RSA recipient",
                                          "rsa@example.org", {.for_encryption = true}),
                                 "RSA recipient");
  material.ec_recipient_key = Check(fixtures::GenerateKey("EC:P-256"), "EC recipient key");
  material.ec_recipient = Check(ca.Issue(material.ec_recipient_key.get(), "Fuzz EC recipient",
                                         "ec@example.org", {.for_encryption = true}),
                                "EC recipient");
  material.ca.reset(X509_dup(ca.certificate()));
  return material;
}

void WriteVerifySeeds(const FuzzMaterial& material, SeedWriter& out) {
  const CmsContext context;
  const Signer signer{.key = material.signer_key.get(), .certificate = material.signer.get()};
  const std::string multipart = Check(SignMail(context, kMail, signer, {}), "sign");
  out.Write("multipart.eml", multipart);
  out.Write("opaque.eml",
            Check(SignMail(context, kMail, signer, {.form = SignedForm::kOpaque}), "opaque"));
  out.Write("pss-sha512.eml",
            Check(SignMail(context, kEntity, signer,
                           {.sign = {.digest = DigestAlgorithm::kSha512, .rsa_pss = true}}),
                  "pss"));
  out.Write("lf-only.eml", absl::StrReplaceAll(multipart, {{"\r\n", "\n"}}));
  out.Write("tampered-body.eml", absl::StrReplaceAll(multipart, {{"3 transfers", "4 transfers"}}));
  out.Write("truncated.eml", multipart.substr(0, multipart.size() * 3 / 4));
  const std::string attached = Check(SignAttached(context, kEntity, signer, {}), "attached");
  out.Write("embedded-in-detached.eml",
            MultipartSignedEntity(kEntity, attached, DigestAlgorithm::kSha256));
  std::string detached = Check(SignDetached(context, kEntity, signer, {}), "detached");
  out.Write("bad-signature.eml",
            MultipartSignedEntity(kEntity, FlipByte(detached, detached.size() - 1),
                                  DigestAlgorithm::kSha256));
  for (size_t at : {10u, 100u, 400u, 900u}) {
    out.Write(absl::StrCat("flipped-", at, ".eml"),
              MultipartSignedEntity(kEntity, FlipByte(detached, at), DigestAlgorithm::kSha256));
  }
}

void WriteDecryptSeeds(const FuzzMaterial& material, SeedWriter& out) {
  const CmsContext context;
  const struct {
    const char* name;
    X509* recipient;
    EncryptOptions options;
  } cases[] = {
      {"rsa-gcm-oaep", material.rsa_recipient.get(), {}},
      {"rsa-cbc-pkcs1",
       material.rsa_recipient.get(),
       {.cipher = ContentCipher::kAes256Cbc, .rsa_key_transport = RsaKeyTransport::kPkcs1}},
      {"ec-gcm", material.ec_recipient.get(), {}},
      {"ec-cbc", material.ec_recipient.get(), {.cipher = ContentCipher::kAes128Cbc}},
  };
  for (const auto& c : cases) {
    const std::string mail = Check(EncryptMail(context, kMail, {c.recipient}, c.options), c.name);
    out.Write(absl::StrCat(c.name, ".eml"), mail);
    out.Write(absl::StrCat(c.name, "-truncated.eml"), mail.substr(0, mail.size() / 2));
    out.Write(absl::StrCat(c.name, "-flipped.eml"), FlipByte(mail, mail.size() - 40));
  }
  const Signer signer{.key = material.signer_key.get(), .certificate = material.signer.get()};
  out.Write(
      "sign-and-encrypt.eml",
      Check(SignAndEncryptMail(context, kMail, signer, {},
                               {material.rsa_recipient.get(), material.ec_recipient.get()}, {}),
            "sign and encrypt"));
  out.Write("not-encrypted.eml", kMail);
}

}  // namespace
}  // namespace signet::cms::fuzz

int main(int argc, char** argv) {
  using namespace signet::cms::fuzz;
  if (argc != 2) {
    std::fprintf(stderr, "usage: cms_fuzz_seeds DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  mkdir(dir.c_str(), 0755);
  FuzzMaterial material = MakeMaterial();
  SeedWriter material_dir(dir + "/material");
  if (absl::Status saved = SaveFuzzMaterial(material, dir + "/material"); !saved.ok()) {
    std::fprintf(stderr, "cms_fuzz_seeds: %s\n", saved.ToString().c_str());
    return 1;
  }
  SeedWriter verify(dir + "/verify");
  WriteVerifySeeds(material, verify);
  SeedWriter decrypt(dir + "/decrypt");
  WriteDecryptSeeds(material, decrypt);
  return 0;
}
