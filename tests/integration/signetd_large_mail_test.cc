// A 50 MiB mail streamed through signetd (a separate process on a SoftHSM2
// token, over gRPC on its unix socket): SignMail, and EncryptMail then
// DecryptMail with the round trip checked by hash, while the daemon's peak
// resident memory is watched.
//
// Why the daemon's memory grows with the mail at all: the API streams the
// mail in 64 KiB chunks both ways, but the CMS layer (OpenSSL's CMS code and
// Signet's MIME handling around it) works on whole messages, so the daemon
// collects the whole mail before it starts and holds the whole result while
// it streams it back. What must hold is that the growth stays a small,
// fixed multiple of the mail's size: a few working copies (the mail, the
// MIME entity cut from it, the CMS structure, the output), never a copy per
// chunk or anything that grows with the number of chunks.
#include <grpcpp/grpcpp.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/der.h"
#include "common/ossl_ptr.h"
#include "gtest/gtest.h"
#include "signet/v1/mail.grpc.pb.h"
#include "tests/fixtures/mail_stream_call.h"
#include "tests/fixtures/process_memory.h"
#include "tests/fixtures/sanitizers.h"
#include "tests/fixtures/signetd_channels.h"
#include "tests/fixtures/signetd_env.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/test_mail.h"
#include "tests/fixtures/test_pki.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;
using ::signet::matchers::IsOkAndHolds;

constexpr size_t kMiB = size_t{1} << 20;
constexpr size_t kMailBytes = 50 * kMiB;

// The bound on the daemon's peak resident memory growth during one call, as
// a multiple of the mail's size (50 MiB); each call prints its own. Before
// #20 they were 4.2× (SignMail), 5.9× (EncryptMail) and 5.2× (DecryptMail,
// varying 5.2-6.2×): the mail, the entity, OpenSSL's structure, its DER and
// the result, each a copy. Now each holds the mail it was sent once (see
// the tighter bounds below, and docs/architecture.md, "Memory"). 5× is the
// outer bound every call is held to: it catches a copy per chunk or a
// buffer that grows with the stream, whatever the call.
constexpr double kMaxGrowthPerMailByte = 5.0;
// DecryptMail decodes and decrypts in the buffer the mail came in
// (cms::DecryptOwnedMail): it holds the encrypted mail, ≈ 1.37× the
// plaintext, and small buffers beside it (1.43× measured). 2× catches any
// whole copy of the mail's DER or plaintext coming back (2.4× before).
constexpr double kMaxDecryptGrowthPerMailByte = 2.0;
// SignMail, EncryptMail and SignAndEncryptMail of this mail (CRLF, 7-bit)
// work where its body lies and hold it once (1.0-1.2× measured): issue
// #20's bound.
constexpr double kMaxHeldOnceGrowthPerMailByte = 1.5;

// The daemon's CPU time so far (user + system), from /proc/<pid>/stat.
double ProcessCpuSeconds(pid_t pid) {
  std::ifstream file(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  // The fields after the command name, which is in parentheses and may
  // hold spaces: state is the first, utime the 12th, stime the 13th.
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 0; i < 13 && fields >> field; ++i) {
    if (i >= 11) ticks += std::strtod(field.c_str(), nullptr);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The mail: RFC 5322 headers, then 7-bit text lines that SplitMail keeps as
// they are (no re-encoding), pseudo-random so that nothing compresses it.
std::string LargeMail(size_t body_bytes) {
  std::string body;
  body.reserve(body_bytes);
  uint64_t state = 0x9e3779b97f4a7c15;
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789 ,.;";
  while (body.size() < body_bytes) {
    for (int i = 0; i < 76; ++i) {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      body.push_back(kAlphabet[state % (sizeof(kAlphabet) - 1)]);
    }
    body.append("\r\n");
  }
  return fixtures::TestMail{.subject = "Your yearly statement, in full", .body = std::move(body)}
      .Text();
}

std::string Sha256Hex(EVP_MD_CTX* context) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(context, digest, &length);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i)
    absl::StrAppend(&hex, absl::Hex(digest[i], absl::kZeroPad2));
  return hex;
}

std::string Sha256Hex(absl::string_view data) {
  OsslPtr<EVP_MD_CTX, EVP_MD_CTX_free> context(EVP_MD_CTX_new());
  EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr);
  EVP_DigestUpdate(context.get(), data.data(), data.size());
  return Sha256Hex(context.get());
}

// What one streamed call returned; the output is either kept or only hashed.
struct CallResult {
  grpc::Status status;
  v1::MailResponse::Header header;
  std::string body;    // when kept
  uint64_t size = 0;   // bytes of output
  std::string sha256;  // of the output after its header block ("\r\n\r\n")
};

// A streamed call with the size announced, as the CLI sends a file.
template <typename Request>
CallResult StreamMail(std::unique_ptr<grpc::ClientReaderWriter<Request, v1::MailResponse>> (
                          v1::Mail::Stub::*method)(grpc::ClientContext*),
                      v1::Mail::Stub& stub, typename Request::Header header, absl::string_view mail,
                      bool keep_output) {
  CallResult result;
  OsslPtr<EVP_MD_CTX, EVP_MD_CTX_free> digest(EVP_MD_CTX_new());
  EVP_DigestInit_ex(digest.get(), EVP_sha256(), nullptr);
  // The header block of the output (up to its empty line) is not hashed.
  std::string head;
  bool in_body = false;
  auto take = [&](const std::string& part) {
    result.size += part.size();
    if (keep_output) result.body += part;
    if (in_body) {
      EVP_DigestUpdate(digest.get(), part.data(), part.size());
      return;
    }
    head += part;
    if (const size_t end = head.find("\r\n\r\n"); end != std::string::npos) {
      in_body = true;
      EVP_DigestUpdate(digest.get(), head.data() + end + 4, head.size() - end - 4);
      head.clear();
    }
  };
  fixtures::MailCallResult call = fixtures::StreamMail<Request>(
      method, stub, std::move(header), mail,
      {.deadline = std::chrono::seconds(120), .announce_size = true, .on_chunk = take});
  result.status = std::move(call.status);
  result.header = std::move(call.header);
  result.sha256 = Sha256Hex(digest.get());
  return result;
}

class SignetdLargeMailTest : public ::testing::Test {
 protected:
  // One daemon and one mail for the suite: a token and a 50 MiB mail take
  // seconds to make.
  static void SetUpTestSuite() {
    // The encrypted 50 MiB mail is ≈ 68 MiB of base64: the limit allows it.
    absl::StatusOr<std::unique_ptr<fixtures::SignetdEnv>> env = fixtures::SignetdEnv::Start(
        {.signetd_path = SIGNETD_PATH,
         .extra_config = absl::StrCat("limits { max_message_bytes: ", 96 * kMiB, " }")});
    ASSERT_THAT(env, IsOk());
    env_ = env->release();
    pid_ = env_->pid();
    mail_ = new std::string(LargeMail(kMailBytes));
  }

  static void TearDownTestSuite() {
    delete mail_;
    mail_ = nullptr;
    if (env_ == nullptr) return;
    absl::StatusOr<int> exit_code = env_->Stop();
    EXPECT_THAT(exit_code, IsOkAndHolds(0)) << env_->DaemonLog();
    delete env_;
    env_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(env_, nullptr);
    ASSERT_NE(pid_, 0);
    stub_ = v1::Mail::NewStub(fixtures::UnixChannel(*env_));
  }

  // Runs `call` and returns the daemon's peak RSS growth over its RSS just
  // before, in bytes.
  template <typename Call>
  uint64_t PeakGrowth(const char* name, Call call) {
    const bool reset = fixtures::ResetPeakRss(pid_);
    const uint64_t before_rss = fixtures::ProcessStatusKb(pid_, "VmRSS");
    const uint64_t before_peak = fixtures::ProcessStatusKb(pid_, "VmHWM");
    const absl::Time start = absl::Now();
    const double cpu_before = ProcessCpuSeconds(pid_);
    call();
    const double cpu = ProcessCpuSeconds(pid_) - cpu_before;
    const uint64_t after_peak = fixtures::ProcessStatusKb(pid_, "VmHWM");
    // Without the reset, the growth over the earlier peak is a lower bound.
    const uint64_t base = reset ? before_rss : before_peak;
    const uint64_t growth = after_peak > base ? (after_peak - base) * 1024 : 0;
    std::printf(
        "%s: %.1f s, daemon CPU %.2f s = %.1f ms/MiB, RSS before %.1f MiB, peak %.1f MiB, "
        "growth %.1f MiB = %.2f x the mail%s\n",
        name, absl::ToDoubleSeconds(absl::Now() - start), cpu,
        cpu * 1e3 / (static_cast<double>(mail_->size()) / kMiB), before_rss / 1024.0,
        after_peak / 1024.0, growth / double{kMiB}, growth / static_cast<double>(mail_->size()),
        reset ? "" : " (peak not reset)");
    RecordProperty(absl::StrCat(name, "_peak_growth_mib"), static_cast<int>(growth / kMiB));
    return growth;
  }

  void ExpectBounded(uint64_t growth, double bound = kMaxGrowthPerMailByte) {
    // ASan's allocator keeps freed memory in quarantine and pads every
    // block: the bound holds only for the normal build.
    if (fixtures::kAddressSanitizer) return;
    EXPECT_LE(growth, bound * mail_->size())
        << "signetd's memory grew by more than " << bound << "x the mail";
  }

  static fixtures::SignetdEnv* env_;
  static pid_t pid_;
  static const std::string* mail_;
  std::unique_ptr<v1::Mail::Stub> stub_;
};

fixtures::SignetdEnv* SignetdLargeMailTest::env_ = nullptr;
pid_t SignetdLargeMailTest::pid_ = 0;
const std::string* SignetdLargeMailTest::mail_ = nullptr;

TEST_F(SignetdLargeMailTest, SignMailStreamsFiftyMiBWithBoundedMemory) {
  CallResult result;
  const uint64_t growth = PeakGrowth("SignMail", [&] {
    v1::SignMailRequest::Header header;
    header.set_key("bank-signing");
    result = StreamMail<v1::SignMailRequest>(&v1::Mail::Stub::SignMail, *stub_, header, *mail_,
                                             /*keep_output=*/false);
  });
  ASSERT_THAT(result.status, IsOk());
  EXPECT_EQ(result.header.size(), result.size);
  // multipart/signed: the whole entity, then the signature.
  EXPECT_GT(result.size, mail_->size());
  // SignMail answers from where the body lies.
  ExpectBounded(growth, kMaxHeldOnceGrowthPerMailByte);
}

// The certificate of the daemon's decryption key, to encrypt to.
X509Ptr DecryptionCertificate(fixtures::SignetdEnv& env) {
  std::ifstream file(env.File("decryption.pem"));
  std::stringstream pem;
  pem << file.rdbuf();
  const std::string text = pem.str();
  BioPtr bio = ReadBio(text);
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

TEST_F(SignetdLargeMailTest, SignAndEncryptMailHoldsTheMailOnce) {
  X509Ptr recipient = DecryptionCertificate(*env_);
  ASSERT_TRUE(recipient);
  CallResult result;
  const uint64_t growth = PeakGrowth("SignAndEncryptMail", [&] {
    v1::SignAndEncryptMailRequest::Header header;
    header.set_signing_key("bank-signing");
    header.mutable_encrypt()->add_recipient_certificates(DerOf<X509, i2d_X509>(recipient.get()));
    result = StreamMail<v1::SignAndEncryptMailRequest>(&v1::Mail::Stub::SignAndEncryptMail, *stub_,
                                                       header, *mail_,
                                                       /*keep_output=*/false);
  });
  ASSERT_THAT(result.status, IsOk());
  EXPECT_EQ(result.header.size(), result.size);
  EXPECT_GT(result.size, mail_->size());
  // Signed where the body lies and the signed entity encrypted there, the
  // base64 made as it is sent (3.5× when the signed entity and its
  // encryption were strings of their own).
  ExpectBounded(growth, kMaxHeldOnceGrowthPerMailByte);
}

TEST_F(SignetdLargeMailTest, EncryptThenDecryptRoundTripsFiftyMiBWithBoundedMemory) {
  X509Ptr recipient = DecryptionCertificate(*env_);
  ASSERT_TRUE(recipient);
  CallResult encrypted;
  const uint64_t encrypt_growth = PeakGrowth("EncryptMail", [&] {
    v1::EncryptMailRequest::Header header;
    header.mutable_options()->add_recipient_certificates(DerOf<X509, i2d_X509>(recipient.get()));
    encrypted = StreamMail<v1::EncryptMailRequest>(&v1::Mail::Stub::EncryptMail, *stub_, header,
                                                   *mail_, /*keep_output=*/true);
  });
  ASSERT_THAT(encrypted.status, IsOk());
  EXPECT_EQ(encrypted.header.size(), encrypted.body.size());
  // The ciphertext is written over the mail's body and the base64 made as
  // the result is sent.
  ExpectBounded(encrypt_growth, kMaxHeldOnceGrowthPerMailByte);

  CallResult decrypted;
  const uint64_t decrypt_growth = PeakGrowth("DecryptMail", [&] {
    v1::DecryptMailRequest::Header header;
    header.set_key("bank-decryption");
    decrypted = StreamMail<v1::DecryptMailRequest>(&v1::Mail::Stub::DecryptMail, *stub_, header,
                                                   encrypted.body, /*keep_output=*/false);
  });
  ASSERT_THAT(decrypted.status, IsOk());
  EXPECT_TRUE(decrypted.header.authenticated());
  EXPECT_EQ(decrypted.header.size(), decrypted.size);
  // The body came back byte for byte (the header block around it is the
  // mail's own fields plus MIME-Version).
  const absl::string_view body = absl::string_view(*mail_).substr(mail_->find("\r\n\r\n") + 4);
  EXPECT_EQ(decrypted.sha256, Sha256Hex(body));
  ExpectBounded(decrypt_growth, kMaxDecryptGrowthPerMailByte);
}

}  // namespace
}  // namespace signet
