// The TSA end to end as a client sees it: `openssl ts -query` makes the
// request, it is POSTed to the listener, and `openssl ts -verify` and
// `openssl ts -reply -text` judge the reply (docs/architecture.md, D23: tools
// that share none of Signet's code). Every accepted digest, nonces, policies,
// certReq, the configured TSTInfo fields, the ESSCertIDv2, and bad requests
// of every kind.
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "appliance/http/http_listener.h"
#include "appliance/http/http_testing.h"
#include "appliance/tsa/serial_counter.h"
#include "appliance/tsa/tsa_responder.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/subprocess.h"
#include "tests/fixtures/temp_dir.h"
#include "tests/fixtures/test_pki.h"

namespace signet::tsa {
namespace {

using ::signet::matchers::IsOk;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPolicy[] = "1.3.6.1.4.1.99999.3.1";
constexpr char kOtherPolicy[] = "1.3.6.1.4.1.99999.3.2";

// `openssl ts -reply -text` for each PKIFailureInfo.
constexpr char kBadAlg[] = "Failure info: unrecognized or unsupported algorithm identifier";
constexpr char kBadDataFormat[] = "Failure info: the data submitted has the wrong format";
constexpr char kUnacceptedPolicy[] =
    "Failure info: the requested TSA policy is not supported by the TSA";
constexpr char kTimeNotAvailable[] = "Failure info: the TSA's time source is not available";

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteAll(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

class TsaInteropTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto env = std::make_unique<Env>();
    ASSERT_TRUE(env->Init());
    env_ = env.release();
  }
  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
  }

  // One TSA: software key, a real serial counter, the listener.
  struct Env {
    bool Init() {
      absl::StatusOr<fixtures::TempDir> temp = fixtures::TempDir::Create("tsa-interop");
      if (!temp.ok()) return false;
      dir = std::make_unique<fixtures::TempDir>(std::move(*temp));
      absl::StatusOr<fixtures::TestCa> made = fixtures::TestCa::Create("Signet TSA Root");
      if (!made.ok()) return false;
      root = std::make_unique<fixtures::TestCa>(std::move(*made));
      absl::StatusOr<EvpPkeyPtr> made_key = fixtures::GenerateKey("EC:P-256");
      if (!made_key.ok()) return false;
      key = std::move(*made_key);
      absl::StatusOr<X509Ptr> made_certificate =
          root->Issue(key.get(), "Signet TSA", "", {.extended_key_usage = "critical,timeStamping"});
      if (!made_certificate.ok()) return false;
      certificate = std::move(*made_certificate);
      if (!fixtures::WritePem(dir->File("root.pem"), root->certificate()).ok() ||
          !fixtures::WritePem(dir->File("tsa.pem"), certificate.get()).ok()) {
        return false;
      }
      WriteAll(dir->File("data.txt"), "Statement for November: 3 transfers.\n");
      absl::StatusOr<std::unique_ptr<SerialCounter>> counter =
          SerialCounter::Open({.state_path = dir->File("serial.state"), .create_if_missing = true});
      if (!counter.ok()) return false;
      serials = std::move(*counter);
      absl::StatusOr<std::unique_ptr<TsaResponder>> made_responder = TsaResponder::Create(
          {.key = key.get(),
           .certificate = certificate.get(),
           .policies = {kPolicy, kOtherPolicy},
           .accuracy = {.seconds = 1, .millis = 500},
           .ordering = true,
           .include_tsa_name = true,
           .next_serial = [this] { return serials->Next(); },
           .clock_synchronized = [this]() -> absl::StatusOr<bool> { return synchronized; }});
      if (!made_responder.ok()) return false;
      responder = std::move(*made_responder);
      absl::StatusOr<std::unique_ptr<http::HttpListener>> made_listener = http::HttpListener::Start(
          {.path = "/tsa"}, [this](std::string body) { return responder->Respond(body); });
      if (!made_listener.ok()) return false;
      listener = std::move(*made_listener);
      return true;
    }

    std::unique_ptr<fixtures::TempDir> dir;
    std::unique_ptr<fixtures::TestCa> root;
    EvpPkeyPtr key;
    X509Ptr certificate;
    std::unique_ptr<SerialCounter> serials;
    std::unique_ptr<TsaResponder> responder;
    std::unique_ptr<http::HttpListener> listener;
    std::atomic<bool> synchronized{true};
  };

  static std::string File(const std::string& name) { return env_->dir->File(name); }

  // `openssl ts -query -data data.txt <options>`, written to `name`.
  static std::string Query(const std::vector<std::string>& options, const std::string& name) {
    std::vector<std::string> argv = {"openssl", "ts", "-query", "-data", File("data.txt")};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.insert(argv.end(), {"-out", File(name)});
    absl::StatusOr<fixtures::CommandResult> result = fixtures::RunCommandOk(argv);
    EXPECT_THAT(result, IsOk());
    return ReadAll(File(name));
  }

  // POSTs the request; the reply is written to `name`.
  static std::string Post(const std::string& request, const std::string& name) {
    absl::StatusOr<http::testing::HttpReply> reply = http::testing::RawHttp(
        env_->listener->port(),
        http::testing::PostRequest("/tsa", "application/timestamp-query", request));
    EXPECT_THAT(reply, IsOk());
    if (!reply.ok()) return {};
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(reply->content_type, "application/timestamp-reply");
    WriteAll(File(name), reply->body);
    return reply->body;
  }

  // `openssl ts -reply -in <reply> -text`.
  static std::string ReplyText(const std::string& name) {
    absl::StatusOr<fixtures::CommandResult> result =
        fixtures::RunCommandOk({"openssl", "ts", "-reply", "-in", File(name), "-text"});
    EXPECT_THAT(result, IsOk());
    return result.ok() ? result->out : std::string();
  }

  // `openssl ts -verify ... -CAfile root.pem [-untrusted tsa.pem]`; the exit
  // code and what it said.
  static fixtures::CommandResult Verify(const std::vector<std::string>& what,
                                        const std::string& reply, bool untrusted) {
    std::vector<std::string> argv = {"openssl", "ts", "-verify"};
    argv.insert(argv.end(), what.begin(), what.end());
    argv.insert(argv.end(), {"-in", File(reply), "-CAfile", File("root.pem")});
    if (untrusted) argv.insert(argv.end(), {"-untrusted", File("tsa.pem")});
    absl::StatusOr<fixtures::CommandResult> result = fixtures::RunCommand(argv);
    EXPECT_THAT(result, IsOk());
    return result.value_or(fixtures::CommandResult{});
  }

  static Env* env_;
};

TsaInteropTest::Env* TsaInteropTest::env_ = nullptr;

TEST_F(TsaInteropTest, EveryAcceptedDigestVerifies) {
  for (const char* digest : {"-sha256", "-sha384", "-sha512"}) {
    SCOPED_TRACE(digest);
    Post(Query({digest, "-cert"}, "query.tsq"), "reply.tsr");
    const std::string text = ReplyText("reply.tsr");
    EXPECT_THAT(text, HasSubstr("Status: Granted."));
    EXPECT_THAT(text, HasSubstr(absl::StrCat("Hash Algorithm: ", digest + 1)));
    fixtures::CommandResult verified =
        Verify({"-data", File("data.txt")}, "reply.tsr", /*untrusted=*/false);
    EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
    EXPECT_THAT(verified.out, HasSubstr("Verification: OK"));
    // Against the query: the imprint, the nonce and the version.
    verified = Verify({"-queryfile", File("query.tsq")}, "reply.tsr", false);
    EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
    // Other data does not verify: the check has teeth.
    WriteAll(File("other.txt"), "Statement for December.\n");
    verified = Verify({"-data", File("other.txt")}, "reply.tsr", false);
    EXPECT_NE(verified.exit_code, 0);
  }
}

TEST_F(TsaInteropTest, TheCertificateIsIncludedOnlyWhenAskedFor) {
  Post(Query({"-sha256"}, "query.tsq"), "reply.tsr");
  fixtures::CommandResult verified = Verify({"-data", File("data.txt")}, "reply.tsr", false);
  EXPECT_NE(verified.exit_code, 0) << "verified without the TSA certificate: it was included";
  verified = Verify({"-data", File("data.txt")}, "reply.tsr", /*untrusted=*/true);
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;

  Post(Query({"-sha256", "-cert"}, "query.tsq"), "reply.tsr");
  verified = Verify({"-data", File("data.txt")}, "reply.tsr", false);
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
}

TEST_F(TsaInteropTest, TheNonceIsEchoed) {
  Post(Query({"-sha256"}, "query.tsq"), "reply.tsr");
  absl::StatusOr<fixtures::CommandResult> query =
      fixtures::RunCommandOk({"openssl", "ts", "-query", "-in", File("query.tsq"), "-text"});
  ASSERT_THAT(query, IsOk());
  const size_t at = query->out.find("Nonce: 0x");
  ASSERT_NE(at, std::string::npos) << query->out;
  const std::string nonce = query->out.substr(at, query->out.find('\n', at) - at);
  EXPECT_THAT(ReplyText("reply.tsr"), HasSubstr(nonce));

  Post(Query({"-sha256", "-no_nonce"}, "query.tsq"), "reply.tsr");
  EXPECT_THAT(ReplyText("reply.tsr"), HasSubstr("Nonce: unspecified"));
  fixtures::CommandResult verified = Verify({"-queryfile", File("query.tsq")}, "reply.tsr", true);
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
}

TEST_F(TsaInteropTest, PoliciesAreHonoured) {
  Post(Query({"-sha256"}, "query.tsq"), "reply.tsr");
  EXPECT_THAT(ReplyText("reply.tsr"), HasSubstr(absl::StrCat("Policy OID: ", kPolicy)));
  Post(Query({"-sha256", "-tspolicy", kOtherPolicy}, "query.tsq"), "reply.tsr");
  EXPECT_THAT(ReplyText("reply.tsr"), HasSubstr(absl::StrCat("Policy OID: ", kOtherPolicy)));
  fixtures::CommandResult verified = Verify({"-queryfile", File("query.tsq")}, "reply.tsr", true);
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;

  Post(Query({"-sha256", "-tspolicy", "1.3.6.1.4.1.99999.9"}, "query.tsq"), "reply.tsr");
  const std::string text = ReplyText("reply.tsr");
  EXPECT_THAT(text, HasSubstr("Status: Rejected."));
  EXPECT_THAT(text, HasSubstr(kUnacceptedPolicy));
}

TEST_F(TsaInteropTest, TheTstInfoSaysWhatWasConfigured) {
  Post(Query({"-sha256"}, "query.tsq"), "reply.tsr");
  const std::string text = ReplyText("reply.tsr");
  EXPECT_THAT(text, HasSubstr("Accuracy: 0x01 seconds, 0x01F4 millis, unspecified micros"));
  EXPECT_THAT(text, HasSubstr("Ordering: yes"));
  EXPECT_THAT(text, HasSubstr("TSA: DirName:/CN=Signet TSA"));
}

// RFC 5816: a SigningCertificateV2 attribute, and no SHA-1 SigningCertificate.
TEST_F(TsaInteropTest, TheSignerIsNamedByAnEssCertIdV2) {
  Post(Query({"-sha256"}, "query.tsq"), "reply.tsr");
  ASSERT_THAT(fixtures::RunCommandOk({"openssl", "ts", "-reply", "-in", File("reply.tsr"),
                                      "-token_out", "-out", File("token.der")}),
              IsOk());
  absl::StatusOr<fixtures::CommandResult> parsed =
      fixtures::RunCommandOk({"openssl", "asn1parse", "-inform", "DER", "-in", File("token.der")});
  ASSERT_THAT(parsed, IsOk());
  EXPECT_THAT(parsed->out, HasSubstr(":id-smime-aa-signingCertificateV2\n"));
  EXPECT_THAT(parsed->out, Not(HasSubstr(":id-smime-aa-signingCertificate\n")));
}

TEST_F(TsaInteropTest, DigestsNotAcceptedAreBadAlg) {
  for (const char* digest : {"-sha1", "-md5", "-sha224"}) {
    SCOPED_TRACE(digest);
    Post(Query({digest}, "query.tsq"), "reply.tsr");
    const std::string text = ReplyText("reply.tsr");
    EXPECT_THAT(text, HasSubstr("Status: Rejected."));
    EXPECT_THAT(text, HasSubstr(kBadAlg));
  }
}

TEST_F(TsaInteropTest, BrokenRequestsAreBadDataFormat) {
  const std::string good = Query({"-sha256", "-cert"}, "query.tsq");
  for (const std::string& request :
       {std::string("not a time-stamp request"), good.substr(0, good.size() / 2),
        good.substr(0, good.size() - 1), std::string(64, '\0'), std::string()}) {
    Post(request, "reply.tsr");
    const std::string text = ReplyText("reply.tsr");
    EXPECT_THAT(text, HasSubstr("Status: Rejected."));
    EXPECT_THAT(text, HasSubstr(kBadDataFormat)) << "request of " << request.size() << " bytes";
  }
}

TEST_F(TsaInteropTest, AnUnsynchronisedClockIsTimeNotAvailable) {
  env_->synchronized = false;
  Post(Query({"-sha256"}, "query.tsq"), "reply.tsr");
  env_->synchronized = true;
  const std::string text = ReplyText("reply.tsr");
  EXPECT_THAT(text, HasSubstr("Status: Rejected."));
  EXPECT_THAT(text, HasSubstr(kTimeNotAvailable));
}

}  // namespace
}  // namespace signet::tsa
