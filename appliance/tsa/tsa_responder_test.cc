// TsaResponder with software keys: what it grants, what it refuses and with
// which PKIFailureInfo, judged by OpenSSL's own verifier (TS_RESP_verify_
// response) and parser; then with a SoftHSM2 key through Signet's provider.
// The openssl command line judges the same in tsa_interop_test.
#include "appliance/tsa/tsa_responder.h"

#include <openssl/pkcs7.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "absl/strings/match.h"
#include "appliance/tsa/tsa_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/provider_env.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/test_pki.h"

namespace signet::tsa {
namespace {

using ::signet::matchers::IsOk;
using ::signet::matchers::StatusIs;
using ::testing::ElementsAre;
using testing::FailureBits;
using ::testing::HasSubstr;
using testing::MakeRequest;
using testing::ParseReply;
using testing::ReplyStatus;
using testing::RequestSpec;

constexpr char kPolicy[] = "1.3.6.1.4.1.99999.3.1";
constexpr char kOtherPolicy[] = "1.3.6.1.4.1.99999.3.2";

// Whether `oid` is the dotted `text`.
bool IsOid(const ASN1_OBJECT* oid, const char* text) {
  Asn1ObjectPtr expected(OBJ_txt2obj(text, 1));
  return oid != nullptr && expected != nullptr && OBJ_cmp(oid, expected.get()) == 0;
}

// The serials a responder was given, and a switch to make them fail.
struct FakeSerials {
  std::atomic<uint64_t> next{100};
  std::atomic<bool> fail{false};
  std::function<absl::StatusOr<uint64_t>()> Source() {
    return [this]() -> absl::StatusOr<uint64_t> {
      if (fail) return absl::UnavailableError("state file not writable");
      return next++;
    };
  }
};

class TsaResponderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(fixtures::TestCa root, fixtures::TestCa::Create("Signet TSA Root"));
    root_ = std::make_unique<fixtures::TestCa>(std::move(root));
    ASSERT_OK_AND_ASSIGN(EvpPkeyPtr intermediate_key, fixtures::GenerateKey("EC:P-256"));
    ASSERT_OK_AND_ASSIGN(X509Ptr intermediate_certificate,
                         root_->Issue(intermediate_key.get(), "Signet TSA CA", "", {.ca = true}));
    intermediate_ = std::make_unique<fixtures::TestCa>(
        fixtures::TestCa::Adopt(std::move(intermediate_certificate), std::move(intermediate_key)));
    ASSERT_OK_AND_ASSIGN(key_, fixtures::GenerateKey("EC:P-256"));
    ASSERT_OK_AND_ASSIGN(certificate_,
                         intermediate_->Issue(key_.get(), "Signet TSA", "",
                                              {.extended_key_usage = "critical,timeStamping"}));
  }

  TsaResponderOptions Options() {
    return {.key = key_.get(),
            .certificate = certificate_.get(),
            .chain = {intermediate_->certificate()},
            .policies = {kPolicy, kOtherPolicy},
            .next_serial = serials_.Source(),
            .now = [this] { return now_; },
            .clock_synchronized = [this]() -> absl::StatusOr<bool> { return synchronized_; }};
  }

  std::unique_ptr<TsaResponder> Responder(TsaResponderOptions options) {
    absl::StatusOr<std::unique_ptr<TsaResponder>> responder =
        TsaResponder::Create(std::move(options));
    EXPECT_THAT(responder, IsOk());
    return responder.ok() ? std::move(*responder) : nullptr;
  }

  // The reply verified as `openssl ts -verify` does it: signature, chain to
  // the root (the certificates from the reply, or the chain given here),
  // ESSCertID, version, imprint, nonce and (when the request names one)
  // policy.
  absl::Status Verify(const std::string& request_der, TS_RESP* reply) {
    const auto* cursor = reinterpret_cast<const unsigned char*>(request_der.data());
    TsReqPtr request(d2i_TS_REQ(nullptr, &cursor, static_cast<long>(request_der.size())));
    if (!request) return absl::InvalidArgumentError("request does not parse");
    TsVerifyCtxPtr ctx(TS_REQ_to_TS_VERIFY_CTX(request.get(), nullptr));
    if (!ctx) return absl::InternalError("TS_REQ_to_TS_VERIFY_CTX");
    TS_VERIFY_CTX_add_flags(ctx.get(), TS_VFY_SIGNATURE);
    X509_STORE* store = X509_STORE_new();
    X509_STORE_add_cert(store, root_->certificate());
    TS_VERIFY_CTX_set_store(ctx.get(), store);
    STACK_OF(X509)* untrusted = sk_X509_new_null();
    X509_up_ref(certificate_.get());
    sk_X509_push(untrusted, certificate_.get());
    X509_up_ref(intermediate_->certificate());
    sk_X509_push(untrusted, intermediate_->certificate());
    TS_VERIFY_CTS_set_certs(ctx.get(), untrusted);
    if (TS_RESP_verify_response(ctx.get(), reply) != 1) {
      return absl::InvalidArgumentError(fixtures::DrainOpenSslErrors());
    }
    return absl::OkStatus();
  }

  std::unique_ptr<fixtures::TestCa> root_;
  std::unique_ptr<fixtures::TestCa> intermediate_;
  EvpPkeyPtr key_;
  X509Ptr certificate_;
  FakeSerials serials_;
  absl::Time now_ = absl::FromUnixMicros(1764950400123456);  // 2025-12-05T16:00:00.123456Z
  bool synchronized_ = true;
};

TEST_F(TsaResponderTest, GrantsEveryAcceptedDigestAndOpenSslVerifiesIt) {
  std::unique_ptr<TsaResponder> responder = Responder(Options());
  ASSERT_NE(responder, nullptr);
  for (const char* digest : {"SHA256", "SHA384", "SHA512"}) {
    SCOPED_TRACE(digest);
    const std::string request = MakeRequest({.digest = digest, .nonce = 77, .cert_req = true});
    TsRespPtr reply = ParseReply(responder->Respond(request));
    ASSERT_NE(reply, nullptr);
    ASSERT_EQ(ReplyStatus(reply.get()), TS_STATUS_GRANTED);
    EXPECT_THAT(Verify(request, reply.get()), IsOk());
  }
}

TEST_F(TsaResponderTest, TheTokenSaysWhatWasConfigured) {
  TsaResponderOptions options = Options();
  options.accuracy = {.seconds = 2, .millis = 500, .micros = 7};
  options.ordering = true;
  options.include_tsa_name = true;
  options.clock_precision_digits = 3;
  std::unique_ptr<TsaResponder> responder = Responder(std::move(options));
  ASSERT_NE(responder, nullptr);
  TsRespPtr reply = ParseReply(responder->Respond(MakeRequest({.nonce = 123456789})));
  ASSERT_NE(reply, nullptr);
  ASSERT_EQ(ReplyStatus(reply.get()), TS_STATUS_GRANTED);
  TS_TST_INFO* info = TS_RESP_get_tst_info(reply.get());
  EXPECT_EQ(ASN1_INTEGER_get(TS_TST_INFO_get_nonce(info)), 123456789);
  EXPECT_EQ(testing::Serial(reply.get()), 100u);
  EXPECT_TRUE(IsOid(TS_TST_INFO_get_policy_id(info), kPolicy));
  const ASN1_GENERALIZEDTIME* time = TS_TST_INFO_get_time(info);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(time)),
                        ASN1_STRING_length(time)),
            "20251205160000.123Z");
  TS_ACCURACY* accuracy = TS_TST_INFO_get_accuracy(info);
  ASSERT_NE(accuracy, nullptr);
  EXPECT_EQ(ASN1_INTEGER_get(TS_ACCURACY_get_seconds(accuracy)), 2);
  EXPECT_EQ(ASN1_INTEGER_get(TS_ACCURACY_get_millis(accuracy)), 500);
  EXPECT_EQ(ASN1_INTEGER_get(TS_ACCURACY_get_micros(accuracy)), 7);
  EXPECT_EQ(TS_TST_INFO_get_ordering(info), 1);
  GENERAL_NAME* tsa = TS_TST_INFO_get_tsa(info);
  ASSERT_NE(tsa, nullptr);
  ASSERT_EQ(tsa->type, GEN_DIRNAME);
  EXPECT_EQ(X509_NAME_cmp(tsa->d.dirn, X509_get_subject_name(certificate_.get())), 0);
}

TEST_F(TsaResponderTest, DefaultsLeaveOutOrderingAndTheTsaName) {
  std::unique_ptr<TsaResponder> responder = Responder(Options());
  ASSERT_NE(responder, nullptr);
  TsRespPtr reply = ParseReply(responder->Respond(MakeRequest({})));
  ASSERT_NE(reply, nullptr);
  ASSERT_EQ(ReplyStatus(reply.get()), TS_STATUS_GRANTED);
  TS_TST_INFO* info = TS_RESP_get_tst_info(reply.get());
  EXPECT_EQ(TS_TST_INFO_get_ordering(info), 0);
  EXPECT_EQ(TS_TST_INFO_get_tsa(info), nullptr);
  EXPECT_EQ(TS_TST_INFO_get_nonce(info), nullptr);
  TS_ACCURACY* accuracy = TS_TST_INFO_get_accuracy(info);
  ASSERT_NE(accuracy, nullptr);
  EXPECT_EQ(ASN1_INTEGER_get(TS_ACCURACY_get_seconds(accuracy)), 1);
}

TEST_F(TsaResponderTest, CertificatesAreIncludedOnlyWhenAskedFor) {
  std::unique_ptr<TsaResponder> responder = Responder(Options());
  ASSERT_NE(responder, nullptr);
  for (bool cert_req : {false, true}) {
    SCOPED_TRACE(cert_req);
    const std::string request = MakeRequest({.cert_req = cert_req});
    TsRespPtr reply = ParseReply(responder->Respond(request));
    ASSERT_NE(reply, nullptr);
    ASSERT_EQ(ReplyStatus(reply.get()), TS_STATUS_GRANTED);
    STACK_OF(X509)* certificates = TS_RESP_get_token(reply.get())->d.sign->cert;
    if (cert_req) {
      ASSERT_EQ(sk_X509_num(certificates), 2);
      EXPECT_EQ(X509_cmp(sk_X509_value(certificates, 0), certificate_.get()), 0);
      EXPECT_EQ(X509_cmp(sk_X509_value(certificates, 1), intermediate_->certificate()), 0);
    } else {
      // No certificates field at all (-1) or an empty one.
      EXPECT_LE(sk_X509_num(certificates), 0);
    }
    EXPECT_THAT(Verify(request, reply.get()), IsOk());
  }
}

// RFC 5816: the SigningCertificateV2 attribute, with the SHA-256 hash of the
// TSA certificate (SHA-256 is ESSCertIDv2's default, so no algorithm is
// written), and no SHA-1 SigningCertificate.
TEST_F(TsaResponderTest, TheSignerIsNamedByAnEssCertIdV2) {
  std::unique_ptr<TsaResponder> responder = Responder(Options());
  ASSERT_NE(responder, nullptr);
  TsRespPtr reply = ParseReply(responder->Respond(MakeRequest({})));
  ASSERT_NE(reply, nullptr);
  PKCS7_SIGNER_INFO* signer =
      sk_PKCS7_SIGNER_INFO_value(PKCS7_get_signer_info(TS_RESP_get_token(reply.get())), 0);
  ASSERT_NE(signer, nullptr);
  EXPECT_EQ(PKCS7_get_signed_attribute(signer, NID_id_smime_aa_signingCertificate), nullptr);
  ASN1_TYPE* attribute = PKCS7_get_signed_attribute(signer, NID_id_smime_aa_signingCertificateV2);
  ASSERT_NE(attribute, nullptr);
  ASSERT_EQ(attribute->type, V_ASN1_SEQUENCE);
  const std::string value(reinterpret_cast<const char*>(attribute->value.sequence->data),
                          attribute->value.sequence->length);
  unsigned char hash[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  ASSERT_EQ(X509_digest(certificate_.get(), EVP_sha256(), hash, &length), 1);
  // SigningCertificateV2 { certs SEQUENCE { ESSCertIDv2 { certHash OCTET
  // STRING (32), issuerSerial ... } } }: the hash right after the headers.
  const std::string octets =
      std::string("\x04\x20", 2) + std::string(reinterpret_cast<char*>(hash), length);
  EXPECT_TRUE(absl::StrContains(value, octets));
  EXPECT_FALSE(
      absl::StrContains(value, std::string("\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01", 11)))
      << "SHA-256 is the default algorithm and must not be encoded";
}

TEST_F(TsaResponderTest, PoliciesAreHonoured) {
  std::unique_ptr<TsaResponder> responder = Responder(Options());
  ASSERT_NE(responder, nullptr);
  for (const char* policy : {kPolicy, kOtherPolicy}) {
    const std::string request = MakeRequest({.policy = policy});
    TsRespPtr reply = ParseReply(responder->Respond(request));
    ASSERT_NE(reply, nullptr);
    ASSERT_EQ(ReplyStatus(reply.get()), TS_STATUS_GRANTED);
    EXPECT_TRUE(IsOid(TS_TST_INFO_get_policy_id(TS_RESP_get_tst_info(reply.get())), policy));
    EXPECT_THAT(Verify(request, reply.get()), IsOk());
  }
  TsRespPtr reply = ParseReply(responder->Respond(MakeRequest({.policy = "1.3.6.1.4.1.99999.9"})));
  ASSERT_NE(reply, nullptr);
  EXPECT_EQ(ReplyStatus(reply.get()), TS_STATUS_REJECTION);
  EXPECT_THAT(FailureBits(reply.get()), ElementsAre(TS_INFO_UNACCEPTED_POLICY));
}

TEST_F(TsaResponderTest, DigestsNotAcceptedAreBadAlg) {
  std::unique_ptr<TsaResponder> responder = Responder(Options());
  ASSERT_NE(responder, nullptr);
  for (const char* digest : {"SHA1", "MD5", "SHA224", "SHA3-256"}) {
    SCOPED_TRACE(digest);
    TsRespPtr reply = ParseReply(responder->Respond(MakeRequest({.digest = digest})));
    ASSERT_NE(reply, nullptr);
    EXPECT_EQ(ReplyStatus(reply.get()), TS_STATUS_REJECTION);
    EXPECT_THAT(FailureBits(reply.get()), ElementsAre(TS_INFO_BAD_ALG));
  }
  EXPECT_EQ(serials_.next, 100u) << "a refused request took a serial";
}

TEST_F(TsaResponderTest, Sha1IsAcceptedWhenConfigured) {
  TsaResponderOptions options = Options();
  options.imprint_digests = {"SHA256", "SHA1"};
  std::unique_ptr<TsaResponder> responder = Responder(std::move(options));
  ASSERT_NE(responder, nullptr);
  const std::string request = MakeRequest({.digest = "SHA1"});
  TsRespPtr reply = ParseReply(responder->Respond(request));
  ASSERT_NE(reply, nullptr);
  ASSERT_EQ(ReplyStatus(reply.get()), TS_STATUS_GRANTED);
  EXPECT_THAT(Verify(request, reply.get()), IsOk());
}

// OpenSSL 3.0 calls an imprint of the wrong length badDataFormat ("Bad
// message digest"), not badAlg: the algorithm is one the TSA accepts, the
// data submitted is what is wrong (RFC 3161 2.4.2's reading of the two).
TEST_F(TsaResponderTest, AnImprintOfTheWrongLengthIsRefused) {
  std::unique_ptr<TsaResponder> responder = Responder(Options());
  ASSERT_NE(responder, nullptr);
  for (int length : {0, 20, 31, 33, 64}) {
    SCOPED_TRACE(length);
    TsRespPtr reply = ParseReply(responder->Respond(MakeRequest({.digest_length = length})));
    ASSERT_NE(reply, nullptr);
    EXPECT_EQ(ReplyStatus(reply.get()), TS_STATUS_REJECTION);
    EXPECT_THAT(FailureBits(reply.get()), ElementsAre(TS_INFO_BAD_DATA_FORMAT));
  }
}

TEST_F(TsaResponderTest, GarbageIsBadDataFormat) {
  std::unique_ptr<TsaResponder> responder = Responder(Options());
  ASSERT_NE(responder, nullptr);
  const std::string good = MakeRequest({.nonce = 5});
  std::vector<std::string> inputs = {"", "hello", std::string(1000, '\xff'),
                                     std::string("\x30\x84\xff\xff\xff\xff", 6),
                                     std::string("\x30\x80", 2)};
  // Every truncation of a good request.
  for (size_t length = 1; length < good.size(); ++length) inputs.push_back(good.substr(0, length));
  // Random bytes, deterministic.
  uint32_t state = 12345;
  for (int i = 0; i < 200; ++i) {
    std::string random(static_cast<size_t>(i * 3 % 300), '\0');
    for (char& c : random) {
      state = state * 1103515245u + 12345u;
      c = static_cast<char>(state >> 24);
    }
    inputs.push_back(random);
  }
  for (const std::string& input : inputs) {
    TsRespPtr reply = ParseReply(responder->Respond(input));
    ASSERT_NE(reply, nullptr);
    EXPECT_EQ(ReplyStatus(reply.get()), TS_STATUS_REJECTION);
    EXPECT_THAT(FailureBits(reply.get()), ElementsAre(TS_INFO_BAD_DATA_FORMAT))
        << "input of " << input.size() << " bytes";
  }
  EXPECT_EQ(serials_.next, 100u);
}

TEST_F(TsaResponderTest, AnotherVersionIsBadRequestAndExtensionsAreRefused) {
  std::unique_ptr<TsaResponder> responder = Responder(Options());
  ASSERT_NE(responder, nullptr);
  TsRespPtr reply = ParseReply(responder->Respond(MakeRequest({.version = 2})));
  ASSERT_NE(reply, nullptr);
  EXPECT_EQ(ReplyStatus(reply.get()), TS_STATUS_REJECTION);
  EXPECT_THAT(FailureBits(reply.get()), ElementsAre(TS_INFO_BAD_REQUEST));
  reply = ParseReply(responder->Respond(MakeRequest({.with_extension = true})));
  ASSERT_NE(reply, nullptr);
  EXPECT_EQ(ReplyStatus(reply.get()), TS_STATUS_REJECTION);
  EXPECT_THAT(FailureBits(reply.get()), ElementsAre(TS_INFO_UNACCEPTED_EXTENSION));
}

TEST_F(TsaResponderTest, AnUnsynchronisedClockGivesTimeNotAvailable) {
  synchronized_ = false;
  std::unique_ptr<TsaResponder> responder = Responder(Options());
  ASSERT_NE(responder, nullptr);
  TsRespPtr reply = ParseReply(responder->Respond(MakeRequest({.nonce = 9})));
  ASSERT_NE(reply, nullptr);
  EXPECT_EQ(ReplyStatus(reply.get()), TS_STATUS_REJECTION);
  EXPECT_THAT(FailureBits(reply.get()), ElementsAre(TS_INFO_TIME_NOT_AVAILABLE));
  EXPECT_EQ(serials_.next, 100u) << "a refused stamp took a serial";

  // A check that fails is no better than a clock that is off.
  TsaResponderOptions failing = Options();
  failing.clock_synchronized = []() -> absl::StatusOr<bool> {
    return absl::InternalError("ntp_adjtime failed: Operation not permitted");
  };
  responder = Responder(std::move(failing));
  reply = ParseReply(responder->Respond(MakeRequest({})));
  ASSERT_NE(reply, nullptr);
  EXPECT_THAT(FailureBits(reply.get()), ElementsAre(TS_INFO_TIME_NOT_AVAILABLE));

  // Configured not to ask, it stamps.
  TsaResponderOptions unchecked = Options();
  unchecked.clock_synchronized = nullptr;
  responder = Responder(std::move(unchecked));
  reply = ParseReply(responder->Respond(MakeRequest({})));
  ASSERT_NE(reply, nullptr);
  EXPECT_EQ(ReplyStatus(reply.get()), TS_STATUS_GRANTED);
}

TEST_F(TsaResponderTest, ASerialThatFailsIsSystemFailure) {
  serials_.fail = true;
  std::unique_ptr<TsaResponder> responder = Responder(Options());
  ASSERT_NE(responder, nullptr);
  TsRespPtr reply = ParseReply(responder->Respond(MakeRequest({})));
  ASSERT_NE(reply, nullptr);
  EXPECT_EQ(ReplyStatus(reply.get()), TS_STATUS_REJECTION);
  EXPECT_THAT(FailureBits(reply.get()), ElementsAre(TS_INFO_SYSTEM_FAILURE));
}

// An Ed25519 key: OpenSSL 3.0's PKCS#7 signs nothing with it, so the
// signature fails after the request was accepted.
TEST_F(TsaResponderTest, ASignatureThatFailsIsSystemFailure) {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  ASSERT_NE(key, nullptr);
  ASSERT_OK_AND_ASSIGN(X509Ptr certificate,
                       root_->Issue(key.get(), "Signet TSA Ed25519", "",
                                    {.extended_key_usage = "critical,timeStamping"}));
  TsaResponderOptions options = Options();
  options.key = key.get();
  options.certificate = certificate.get();
  std::unique_ptr<TsaResponder> responder = Responder(std::move(options));
  ASSERT_NE(responder, nullptr);
  const std::string reply_der = responder->Respond(MakeRequest({}));
  EXPECT_EQ(reply_der, SystemFailureResponse());
  TsRespPtr reply = ParseReply(reply_der);
  ASSERT_NE(reply, nullptr);
  EXPECT_EQ(ReplyStatus(reply.get()), TS_STATUS_REJECTION);
  EXPECT_THAT(FailureBits(reply.get()), ElementsAre(TS_INFO_SYSTEM_FAILURE));
}

TEST_F(TsaResponderTest, ConfigurationsThatCouldNeverStampAreRefused) {
  TsaResponderOptions options = Options();
  options.policies = {};
  EXPECT_THAT(TsaResponder::Create(options), StatusIs(absl::StatusCode::kInvalidArgument));
  options = Options();
  options.policies = {"tsa-policy"};
  EXPECT_THAT(TsaResponder::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not an OID")));
  options = Options();
  options.imprint_digests = {"SHA256", "NOPE"};
  EXPECT_THAT(TsaResponder::Create(options), StatusIs(absl::StatusCode::kInvalidArgument));
  options = Options();
  options.accuracy.millis = 1000;
  EXPECT_THAT(TsaResponder::Create(options), StatusIs(absl::StatusCode::kInvalidArgument));
  options = Options();
  options.next_serial = nullptr;
  EXPECT_THAT(TsaResponder::Create(options), StatusIs(absl::StatusCode::kInvalidArgument));
  // A certificate without timeStamping.
  ASSERT_OK_AND_ASSIGN(X509Ptr mail,
                       intermediate_->Issue(key_.get(), "Signet Mail", "m@bank.example"));
  options = Options();
  options.certificate = mail.get();
  EXPECT_THAT(TsaResponder::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("timeStamping")));
  // Another key's certificate.
  ASSERT_OK_AND_ASSIGN(EvpPkeyPtr other, fixtures::GenerateKey("EC:P-256"));
  options = Options();
  options.key = other.get();
  EXPECT_THAT(TsaResponder::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not the signing key")));
}

TEST_F(TsaResponderTest, ConcurrentCallsAllGetTheirOwnToken) {
  std::unique_ptr<TsaResponder> responder = Responder(Options());
  ASSERT_NE(responder, nullptr);
  constexpr int kThreads = 6;
  constexpr int kEach = 40;
  std::mutex mutex;
  std::set<uint64_t> serials;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const int64_t nonce = t * 1000 + i;
        const std::string request =
            MakeRequest({.data = std::to_string(nonce), .nonce = nonce, .cert_req = (i % 2) == 0});
        TsRespPtr reply = ParseReply(responder->Respond(request));
        if (reply == nullptr || ReplyStatus(reply.get()) != TS_STATUS_GRANTED ||
            !Verify(request, reply.get()).ok()) {
          ++failures;
          continue;
        }
        std::lock_guard<std::mutex> lock(mutex);
        serials.insert(testing::Serial(reply.get()));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(serials.size(), static_cast<size_t>(kThreads * kEach));
}

TEST(SystemFailureResponseTest, IsARejectionWithSystemFailure) {
  TsRespPtr reply = ParseReply(SystemFailureResponse());
  ASSERT_NE(reply, nullptr);
  EXPECT_EQ(ReplyStatus(reply.get()), TS_STATUS_REJECTION);
  EXPECT_THAT(FailureBits(reply.get()), ElementsAre(TS_INFO_SYSTEM_FAILURE));
  // And it is DER: OpenSSL encodes what it parsed to the same bytes.
  const std::string encoded = DerOf<TS_RESP, i2d_TS_RESP>(reply.get());
  EXPECT_EQ(encoded, SystemFailureResponse());
}

// The key on a SoftHSM2 token, used through Signet's provider as signetd
// uses it: the private key never leaves the token, OpenSSL's PKCS#7 code
// calls the provider for the signature.
class TsaResponderTokenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<fixtures::ProviderEnv>> env = fixtures::ProviderEnv::Create(
        {{.name = "p256", .id_hex = "01", .key_type = "EC:prime256v1"},
         {.name = "rsa", .id_hex = "02", .key_type = "rsa:2048"}});
    ASSERT_THAT(env, IsOk());
    env_ = env->release();
  }
  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
  }

  static fixtures::ProviderEnv* env_;
};

fixtures::ProviderEnv* TsaResponderTokenTest::env_ = nullptr;

TEST_F(TsaResponderTokenTest, SignsWithATokenKeyThroughTheProvider) {
  for (const char* name : {"p256", "rsa"}) {
    SCOPED_TRACE(name);
    ASSERT_OK_AND_ASSIGN(X509Ptr certificate,
                         env_->ca().Issue(env_->public_key(name), "Signet TSA", "",
                                          {.extended_key_usage = "critical,timeStamping"}));
    std::atomic<uint64_t> next{1};
    ASSERT_OK_AND_ASSIGN(
        std::unique_ptr<TsaResponder> responder,
        TsaResponder::Create(
            {.key = env_->key(name),
             .certificate = certificate.get(),
             .policies = {kPolicy},
             .next_serial = [&next]() -> absl::StatusOr<uint64_t> { return next++; },
             .clock_synchronized = nullptr,
             .libctx = env_->libctx()}));
    const std::string request = MakeRequest({.nonce = 42, .cert_req = true});
    TsRespPtr reply = ParseReply(responder->Respond(request));
    ASSERT_NE(reply, nullptr);
    ASSERT_EQ(ReplyStatus(reply.get()), TS_STATUS_GRANTED) << fixtures::DrainOpenSslErrors();

    const auto* cursor = reinterpret_cast<const unsigned char*>(request.data());
    TsReqPtr parsed(d2i_TS_REQ(nullptr, &cursor, static_cast<long>(request.size())));
    TsVerifyCtxPtr ctx(TS_REQ_to_TS_VERIFY_CTX(parsed.get(), nullptr));
    ASSERT_NE(ctx, nullptr);
    TS_VERIFY_CTX_add_flags(ctx.get(), TS_VFY_SIGNATURE);
    X509_STORE* store = X509_STORE_new();
    X509_STORE_add_cert(store, env_->ca().certificate());
    TS_VERIFY_CTX_set_store(ctx.get(), store);
    EXPECT_EQ(TS_RESP_verify_response(ctx.get(), reply.get()), 1) << fixtures::DrainOpenSslErrors();
  }
}

}  // namespace
}  // namespace signet::tsa
