// No PIN, plaintext or content key in any log, even at debug level: signetd
// (a separate process on a SoftHSM2 token, `--log-level debug`, gRPC's own
// logging at DEBUG) serves a full session over gRPC, then its stderr log and
// its audit log are searched for the token's user PIN, the plaintext
// markers of the mails (raw, base64 and quoted-printable) and a content
// encryption key that passed through it (raw, hex and base64).
//
// The content key: the daemon encrypts a mail to two recipients, its own
// decryption key's certificate and a software key pair made here. The test
// recovers the key from the software recipient's RecipientInfo, then has
// the daemon decrypt the same mail with its token key, so that the very key
// has been inside the daemon twice (made when encrypting, unwrapped when
// decrypting).
#include <grpcpp/grpcpp.h>
#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <fstream>
#include <functional>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/der.h"
#include "common/ossl_ptr.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/v1/keys.grpc.pb.h"
#include "signet/v1/mail.grpc.pb.h"
#include "tests/fixtures/mail_stream_call.h"
#include "tests/fixtures/read_file.h"
#include "tests/fixtures/signetd_channels.h"
#include "tests/fixtures/signetd_env.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/test_mail.h"
#include "tests/fixtures/test_pki.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;
using ::signet::matchers::IsOkAndHolds;
using ::testing::Not;

using ::testing::HasSubstr;

// Distinctive plaintext: one 7-bit marker (with a '=' so that its
// quoted-printable form differs) and one with 8-bit characters, which makes
// the signing path re-encode its mail's body as base64.
constexpr char kMarker[] = "SIGNET-PLAINTEXT=MARKER-4f7c2a91e8b3d6";
constexpr char kMarker8[] = "Kontostand-geheim-\xC3\x84\xC3\xB6\xC3\xBC-93b1c7e5a2";

std::string Mail(absl::string_view body_text, absl::string_view charset = "us-ascii") {
  return fixtures::TestMail{.content_type = absl::StrCat("text/plain; charset=", charset),
                            .body = absl::StrCat("Dear customer,\r\n\r\n", body_text,
                                                 "\r\nBalance on 27 November: 1,234.56 EUR.\r\n")}
      .Text();
}

using fixtures::ReadFile;

std::string Base64(absl::string_view data) {
  std::string encoded;
  absl::Base64Escape(data, &encoded);
  return encoded;
}

// The forms base64 gives `secret` wherever it sits in a longer text: for
// each of the three alignments, the quads that encode only its bytes.
std::vector<std::string> Base64Forms(absl::string_view secret) {
  std::vector<std::string> forms;
  for (size_t shift = 0; shift < 3; ++shift) {
    const std::string encoded = Base64(absl::StrCat(std::string(shift, '\0'), secret));
    // Leading quad shared with the bytes before; trailing quad with those after.
    const size_t begin = shift == 0 ? 0 : 4;
    const size_t whole = (shift + secret.size()) / 3 * 4;
    if (whole > begin + 8) forms.push_back(encoded.substr(begin, whole - begin));
  }
  return forms;
}

// Quoted-printable (RFC 2045 §6.7) of a short text without line breaks.
std::string QuotedPrintable(absl::string_view text) {
  std::string encoded;
  for (unsigned char c : text) {
    if (c == '=' || c < 33 || c > 126) {
      absl::StrAppend(&encoded, "=",
                      absl::AsciiStrToUpper(absl::BytesToHexString(
                          absl::string_view(reinterpret_cast<char*>(&c), 1))));
    } else {
      encoded.push_back(static_cast<char>(c));
    }
  }
  return encoded;
}

// Where a secret would hide in a log: as is, and with line breaks (a
// logged base64 or MIME body is wrapped) or their escapes taken out.
std::vector<std::string> Haystacks(const std::string& log) {
  return {log, absl::StrReplaceAll(log, {{"\r", ""}, {"\n", ""}}),
          absl::StrReplaceAll(log, {{"\\r", ""}, {"\\n", ""}})};
}

// What a log must not contain: (description, bytes).
struct Needle {
  std::string what;
  std::string bytes;
};

std::vector<Needle> PlaintextNeedles(absl::string_view marker, absl::string_view name) {
  std::vector<Needle> needles = {
      {absl::StrCat(name, " (raw)"), std::string(marker)},
      {absl::StrCat(name, " (quoted-printable)"), QuotedPrintable(marker)}};
  for (const std::string& form : Base64Forms(marker)) {
    needles.push_back({absl::StrCat(name, " (base64)"), form});
  }
  return needles;
}

std::vector<Needle> KeyNeedles(absl::string_view key, absl::string_view name) {
  const std::string hex = absl::BytesToHexString(key);
  std::vector<Needle> needles = {{absl::StrCat(name, " (raw)"), std::string(key)},
                                 {absl::StrCat(name, " (hex)"), hex},
                                 {absl::StrCat(name, " (HEX)"), absl::AsciiStrToUpper(hex)},
                                 {absl::StrCat(name, " (hex, colons)"),
                                  absl::StrJoin(absl::StrSplit(hex, absl::ByLength(2)), ":")}};
  for (const std::string& form : Base64Forms(key)) {
    needles.push_back({absl::StrCat(name, " (base64)"), form});
  }
  return needles;
}

// Where `needle` occurs in `log`, as a short excerpt; empty when nowhere.
std::string Find(const std::string& log, const std::string& needle) {
  for (const std::string& haystack : Haystacks(log)) {
    const size_t at = haystack.find(needle);
    if (at != std::string::npos) {
      const size_t from = at > 80 ? at - 80 : 0;
      return absl::CEscape(haystack.substr(from, needle.size() + 160));
    }
  }
  return "";
}

// A short PIN (SoftHSM fixtures use "1234") also appears by chance in
// numbers; it counts when it stands alone, not inside a longer number.
bool ContainsPin(const std::string& log, const std::string& pin, std::string* excerpt) {
  for (const std::string& haystack : Haystacks(log)) {
    for (size_t at = haystack.find(pin); at != std::string::npos; at = haystack.find(pin, at + 1)) {
      const bool digit_before = at > 0 && absl::ascii_isdigit(haystack[at - 1]);
      const bool digit_after =
          at + pin.size() < haystack.size() && absl::ascii_isdigit(haystack[at + pin.size()]);
      if (pin.size() >= 8 || (!digit_before && !digit_after)) {
        const size_t from = at > 80 ? at - 80 : 0;
        *excerpt = absl::CEscape(haystack.substr(from, pin.size() + 160));
        return true;
      }
    }
  }
  return false;
}

using CallResult = fixtures::MailCallResult;
using fixtures::StreamMail;

// The content-encryption key of an S/MIME encrypted mail, unwrapped with
// `key` (RSA-OAEP with SHA-256): the mail's DER is walked for OCTET STRINGs
// the size of an RSA-2048 encryptedKey, and the one `key` opens is it.
absl::StatusOr<std::string> ContentKeyOf(const std::string& smime, EVP_PKEY* key) {
  const size_t start = smime.find("\r\n\r\n");
  if (start == std::string::npos) return absl::InvalidArgumentError("no body");
  std::string der;
  if (!absl::Base64Unescape(absl::StrReplaceAll(smime.substr(start + 4), {{"\r", ""}, {"\n", ""}}),
                            &der)) {
    return absl::InvalidArgumentError("the body is not base64");
  }
  std::vector<std::string> candidates;
  // Depth-first over the DER, collecting 256-byte primitive OCTET STRINGs.
  std::function<void(const unsigned char*, long)> walk = [&](const unsigned char* p, long size) {
    const unsigned char* end = p + size;
    while (p < end) {
      long length = 0;
      int tag = 0;
      int xclass = 0;
      const int flags = ASN1_get_object(&p, &length, &tag, &xclass, end - p);
      if (flags & 0x80) return;  // error
      if (flags & V_ASN1_CONSTRUCTED) {
        walk(p, length);
      } else if (xclass == V_ASN1_UNIVERSAL && tag == V_ASN1_OCTET_STRING && length == 256) {
        candidates.emplace_back(reinterpret_cast<const char*>(p), length);
      }
      p += length;
    }
  };
  walk(reinterpret_cast<const unsigned char*>(der.data()), static_cast<long>(der.size()));
  for (const std::string& wrapped : candidates) {
    OsslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free> context(EVP_PKEY_CTX_new(key, nullptr));
    unsigned char out[512];
    size_t out_length = sizeof(out);
    if (EVP_PKEY_decrypt_init(context.get()) == 1 &&
        EVP_PKEY_CTX_set_rsa_padding(context.get(), RSA_PKCS1_OAEP_PADDING) == 1 &&
        EVP_PKEY_CTX_set_rsa_oaep_md(context.get(), EVP_sha256()) == 1 &&
        EVP_PKEY_CTX_set_rsa_mgf1_md(context.get(), EVP_sha256()) == 1 &&
        EVP_PKEY_decrypt(context.get(), out, &out_length,
                         reinterpret_cast<const unsigned char*>(wrapped.data()),
                         wrapped.size()) == 1) {
      return std::string(reinterpret_cast<char*>(out), out_length);
    }
  }
  fixtures::DrainOpenSslErrors();
  return absl::NotFoundError(
      absl::StrCat("none of ", candidates.size(), " RSA-2048 encryptedKeys opens with the key"));
}

absl::StatusOr<std::string> CertificateDer(const std::string& pem_path) {
  const std::string pem = ReadFile(pem_path);
  BioPtr bio = ReadBio(pem);
  X509Ptr certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!certificate) return absl::InvalidArgumentError(absl::StrCat(pem_path, " does not parse"));
  return DerOf<X509, i2d_X509>(certificate.get());
}

TEST(SignetdLogSecrecyTest, AFullSessionAtDebugLevelLogsNoPinPlaintextOrContentKey) {
  absl::StatusOr<std::unique_ptr<fixtures::SignetdEnv>> started = fixtures::SignetdEnv::Start(
      {.signetd_path = SIGNETD_PATH,
       // gRPC's own logging at its most verbose short of a wire dump: its
       // debug lines, and the "api" and "http" traces (every call's batch
       // of operations and every HTTP/2 frame's headers, ~250 KiB for this
       // session). Not "tcp" (nor "all"): that trace dumps every byte read
       // and written, mails included, by design (docs/operations.md, Logs).
       .extra_env = {"GRPC_VERBOSITY=DEBUG", "GRPC_TRACE=api,http"},
       .extra_args = {"--log-level", "debug"}});
  ASSERT_THAT(started, IsOk());
  fixtures::SignetdEnv& env = **started;
  std::string pin = ReadFile(env.File("user.pin"));
  absl::StripTrailingAsciiWhitespace(&pin);
  ASSERT_FALSE(pin.empty());

  auto channel = fixtures::UnixChannel(env);
  std::unique_ptr<v1::Mail::Stub> mail = v1::Mail::NewStub(channel);
  std::unique_ptr<v1::Keys::Stub> keys = v1::Keys::NewStub(channel);

  const std::string ascii_mail = Mail(absl::StrCat("Your secret: ", kMarker, "\r\n"));
  const std::string eight_bit_mail =
      Mail(absl::StrCat("Ihr Geheimnis: ", kMarker8, "\r\n"), "utf-8");

  // A software recipient whose key the test holds.
  absl::StatusOr<EvpPkeyPtr> software_key = fixtures::GenerateKey("RSA:2048");
  ASSERT_THAT(software_key, IsOk());
  absl::StatusOr<X509Ptr> software_certificate = env.ca().Issue(
      software_key->get(), "Log Test Recipient", "recipient@example.org", {.for_encryption = true});
  ASSERT_THAT(software_certificate, IsOk());
  absl::StatusOr<std::string> token_recipient = CertificateDer(env.File("decryption.pem"));
  ASSERT_THAT(token_recipient, IsOk());

  // SignMail, both mails (the 8-bit one is re-encoded as base64 inside).
  v1::SignMailRequest::Header sign;
  sign.set_key("bank-signing");
  CallResult signed_ascii =
      StreamMail<v1::SignMailRequest>(&v1::Mail::Stub::SignMail, *mail, sign, ascii_mail);
  ASSERT_THAT(signed_ascii.status, IsOk());
  CallResult signed_eight_bit =
      StreamMail<v1::SignMailRequest>(&v1::Mail::Stub::SignMail, *mail, sign, eight_bit_mail);
  ASSERT_THAT(signed_eight_bit.status, IsOk());

  // SignDigest.
  {
    v1::SignDigestRequest request;
    request.set_key("other-signing");
    request.set_digest(std::string(32, '\x5a'));
    v1::SignDigestResponse response;
    grpc::ClientContext context;
    grpc::Status status = mail->SignDigest(&context, request, &response);
    ASSERT_THAT(status, IsOk());
  }

  // EncryptMail to the token's key and the software key.
  v1::EncryptMailRequest::Header encrypt;
  encrypt.mutable_options()->add_recipient_certificates(*token_recipient);
  encrypt.mutable_options()->add_recipient_certificates(
      DerOf<X509, i2d_X509>(software_certificate->get()));
  CallResult encrypted =
      StreamMail<v1::EncryptMailRequest>(&v1::Mail::Stub::EncryptMail, *mail, encrypt, ascii_mail);
  ASSERT_THAT(encrypted.status, IsOk());
  absl::StatusOr<std::string> content_key = ContentKeyOf(encrypted.body, software_key->get());
  ASSERT_THAT(content_key, IsOk());
  ASSERT_EQ(content_key->size(), 32u) << "AES-256-GCM by default";

  // DecryptMail of that mail, with the token key: the same content key.
  v1::DecryptMailRequest::Header decrypt;
  decrypt.set_key("bank-decryption");
  CallResult decrypted = StreamMail<v1::DecryptMailRequest>(&v1::Mail::Stub::DecryptMail, *mail,
                                                            decrypt, encrypted.body);
  ASSERT_THAT(decrypted.status, IsOk());
  EXPECT_THAT(decrypted.body, HasSubstr(kMarker));

  // SignAndEncryptMail of the 8-bit mail, then DecryptMail and VerifyMail.
  v1::SignAndEncryptMailRequest::Header sign_encrypt;
  sign_encrypt.set_signing_key("bank-signing");
  sign_encrypt.mutable_encrypt()->add_recipient_certificates(*token_recipient);
  CallResult sealed = StreamMail<v1::SignAndEncryptMailRequest>(
      &v1::Mail::Stub::SignAndEncryptMail, *mail, sign_encrypt, eight_bit_mail);
  ASSERT_THAT(sealed.status, IsOk());
  CallResult opened =
      StreamMail<v1::DecryptMailRequest>(&v1::Mail::Stub::DecryptMail, *mail, decrypt, sealed.body);
  ASSERT_THAT(opened.status, IsOk());
  v1::VerifyMailRequest::Header verify;
  verify.set_require_trusted_chain(true);
  CallResult verified =
      StreamMail<v1::VerifyMailRequest>(&v1::Mail::Stub::VerifyMail, *mail, verify, opened.body);
  ASSERT_THAT(verified.status, IsOk());
  verified = StreamMail<v1::VerifyMailRequest>(&v1::Mail::Stub::VerifyMail, *mail, verify,
                                               signed_ascii.body);
  ASSERT_THAT(verified.status, IsOk());
  EXPECT_THAT(verified.body, HasSubstr(kMarker));

  // The key service.
  {
    grpc::ClientContext context;
    v1::ListTokensResponse response;
    ASSERT_THAT(keys->ListTokens(&context, {}, &response), IsOk());
  }
  {
    grpc::ClientContext context;
    v1::ListKeysResponse response;
    ASSERT_THAT(keys->ListKeys(&context, {}, &response), IsOk());
  }
  {
    grpc::ClientContext context;
    v1::GetKeyRequest request;
    request.set_name("bank-decryption");
    v1::Key response;
    ASSERT_THAT(keys->GetKey(&context, request, &response), IsOk());
  }

  // Failures: a key the caller may not use, a sender the key is not bound
  // to (with the plaintext in the body), and input that does not decrypt
  // or verify.
  v1::SignMailRequest::Header other;
  other.set_key("other-signing");
  CallResult denied =
      StreamMail<v1::SignMailRequest>(&v1::Mail::Stub::SignMail, *mail, other, ascii_mail);
  EXPECT_EQ(denied.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  CallResult wrong_sender = StreamMail<v1::SignMailRequest>(
      &v1::Mail::Stub::SignMail, *mail, sign,
      absl::StrReplaceAll(ascii_mail, {{"statements@bank.example", "ceo@evil.example"}}));
  EXPECT_EQ(wrong_sender.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  CallResult garbage =
      StreamMail<v1::DecryptMailRequest>(&v1::Mail::Stub::DecryptMail, *mail, decrypt, ascii_mail);
  EXPECT_EQ(garbage.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // A byte of the authentication tag, at the end of the base64 (a byte in
  // the middle might be the other recipient's key, which this one ignores).
  std::string tampered = encrypted.body;
  size_t at = tampered.find_last_not_of("=\r\n");
  ASSERT_NE(at, std::string::npos);
  // Eight base64 characters back, stepping over line breaks; '+' and '/'
  // are as good a target as letters, since any other base64 character
  // changes the tag.
  for (int left = 8; left > 0;) {
    ASSERT_GT(at, 0u);
    --at;
    if (tampered[at] != '\r' && tampered[at] != '\n') --left;
  }
  ASSERT_TRUE(absl::ascii_isalnum(tampered[at]) || tampered[at] == '+' || tampered[at] == '/')
      << "not base64: " << static_cast<int>(tampered[at]);
  tampered[at] = tampered[at] == 'A' ? 'B' : 'A';
  CallResult undecryptable =
      StreamMail<v1::DecryptMailRequest>(&v1::Mail::Stub::DecryptMail, *mail, decrypt, tampered);
  EXPECT_EQ(undecryptable.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  CallResult unverifiable = StreamMail<v1::VerifyMailRequest>(
      &v1::Mail::Stub::VerifyMail, *mail, verify,
      absl::StrReplaceAll(signed_ascii.body, {{"1,234.56", "9,234.56"}}));
  EXPECT_EQ(unverifiable.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  {
    grpc::ClientContext context;
    v1::GetKeyRequest request;
    request.set_name("no-such-key");
    v1::Key response;
    EXPECT_THAT(keys->GetKey(&context, request, &response), Not(IsOk()));
  }

  // SIGTERM: every line is out, and the audit log has its last checkpoint.
  absl::StatusOr<int> exit_code = env.Stop();
  ASSERT_THAT(exit_code, IsOkAndHolds(0)) << env.DaemonLog();
  const std::string daemon_log = env.DaemonLog();
  const std::string audit_log = ReadFile(env.AuditLogPath());

  // The search is not vacuous: the logs are there, with a line per call.
  ASSERT_FALSE(audit_log.empty());
  EXPECT_LT(daemon_log.size(), 16u << 20) << "the debug log is unexpectedly large";
  for (const char* line :
       {"call SignMail caller=local-gateway key=bank-signing ",
        "call SignDigest caller=local-gateway key=other-signing ",
        "call EncryptMail caller=local-gateway key=- ",
        "call DecryptMail caller=local-gateway key=bank-decryption ",
        "call SignAndEncryptMail caller=local-gateway key=bank-signing ",
        "call VerifyMail caller=local-gateway key=- ", "call ListTokens caller=local-gateway ",
        "call ListKeys caller=local-gateway ",
        "call GetKey caller=local-gateway key=bank-decryption ",
        "call SignMail caller=local-gateway key=other-signing in=", "status=PERMISSION_DENIED",
        "status=INVALID_ARGUMENT", "status=NOT_FOUND", "status=OK"}) {
    EXPECT_THAT(daemon_log, HasSubstr(line));
  }
  // gRPC's own debug lines are in it too (GRPC_VERBOSITY=DEBUG took).
  EXPECT_THAT(daemon_log, ::testing::ContainsRegex("\nD[0-9]{4} "));

  std::vector<Needle> needles = PlaintextNeedles(kMarker, "the 7-bit plaintext marker");
  for (Needle& needle : PlaintextNeedles(kMarker8, "the 8-bit plaintext marker")) {
    needles.push_back(std::move(needle));
  }
  for (Needle& needle : KeyNeedles(*content_key, "the content-encryption key")) {
    needles.push_back(std::move(needle));
  }
  for (const auto& [name, log] :
       {std::pair<const char*, const std::string&>{"signetd's log", daemon_log},
        {"the audit log", audit_log}}) {
    for (const Needle& needle : needles) {
      const std::string found = Find(log, needle.bytes);
      EXPECT_TRUE(found.empty()) << name << " has " << needle.what << ": ..." << found << "...";
    }
    std::string excerpt;
    EXPECT_FALSE(ContainsPin(log, pin, &excerpt))
        << name << " has the user PIN: ..." << excerpt << "...";
    // Also hex and base64 of the PIN, when long enough to mean anything.
    if (pin.size() >= 8) {
      for (const Needle& needle : KeyNeedles(pin, "the user PIN")) {
        EXPECT_TRUE(Find(log, needle.bytes).empty()) << name << " has " << needle.what;
      }
    }
  }
}

}  // namespace
}  // namespace signet
