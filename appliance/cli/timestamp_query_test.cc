#include "appliance/cli/timestamp_query.h"

#include <openssl/ts.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/test_pki.h"

namespace signet::cli {
namespace {

using ::testing::HasSubstr;

const std::string kDigest(32, '\x5a');

// A refusal from OpenSSL's own responder: it accepts only SHA-512, and
// refuses before it would need a signer.
std::string RefusalOf(const TimestampQuery& query) {
  TsRespCtxPtr context(TS_RESP_CTX_new());
  Asn1ObjectPtr policy(OBJ_txt2obj("1.3.6.1.4.1.99999.1", 1));
  TS_RESP_CTX_set_def_policy(context.get(), policy.get());
  TS_RESP_CTX_add_md(context.get(), EVP_sha512());
  BioPtr in = ReadBio(query.der);
  TsRespPtr reply(TS_RESP_create_response(context.get(), in.get()));
  if (!reply) return "";
  unsigned char* der = nullptr;
  const int length = i2d_TS_RESP(reply.get(), &der);
  std::string bytes(reinterpret_cast<char*>(der), length > 0 ? length : 0);
  OPENSSL_free(der);
  return bytes;
}

// A granted reply from OpenSSL's responder with a software TSA certified
// for timeStamping (critical), as signetd's would be.
class GrantedReply {
 public:
  static std::unique_ptr<GrantedReply> Make() {
    auto made = std::unique_ptr<GrantedReply>(new GrantedReply);
    absl::StatusOr<fixtures::TestCa> ca = fixtures::TestCa::Create("Test TSA CA");
    absl::StatusOr<EvpPkeyPtr> key = fixtures::GenerateKey("EC:P-256");
    if (!ca.ok() || !key.ok()) return nullptr;
    absl::StatusOr<X509Ptr> certificate =
        ca->Issue(key->get(), "Test TSA", "", {.extended_key_usage = "critical,timeStamping"});
    if (!certificate.ok()) return nullptr;
    made->key_ = std::move(*key);
    made->certificate_ = std::move(*certificate);
    return made;
  }

  std::string Answer(const std::string& query_der) {
    TsRespCtxPtr context(TS_RESP_CTX_new());
    Asn1ObjectPtr policy(OBJ_txt2obj("1.3.6.1.4.1.99999.1", 1));
    if (TS_RESP_CTX_set_signer_cert(context.get(), certificate_.get()) != 1 ||
        TS_RESP_CTX_set_signer_key(context.get(), key_.get()) != 1 ||
        TS_RESP_CTX_set_def_policy(context.get(), policy.get()) != 1 ||
        TS_RESP_CTX_add_md(context.get(), EVP_sha256()) != 1) {
      return "";
    }
    BioPtr in = ReadBio(query_der);
    TsRespPtr reply(TS_RESP_create_response(context.get(), in.get()));
    if (!reply) return "";
    unsigned char* der = nullptr;
    const int length = i2d_TS_RESP(reply.get(), &der);
    std::string bytes(reinterpret_cast<char*>(der), length > 0 ? length : 0);
    OPENSSL_free(der);
    return bytes;
  }

 private:
  GrantedReply() = default;
  EvpPkeyPtr key_;
  X509Ptr certificate_;
};

TEST(TimestampQueryTest, AGrantedReplySaysWhenWhoAndWhichSerial) {
  std::unique_ptr<GrantedReply> tsa = GrantedReply::Make();
  ASSERT_NE(tsa, nullptr);
  absl::StatusOr<TimestampQuery> query = BuildTimestampQuery(v1::SHA256, kDigest, "");
  ASSERT_TRUE(query.ok());
  const std::string reply = tsa->Answer(query->der);
  ASSERT_FALSE(reply.empty());
  absl::StatusOr<TimestampReplySummary> summary = SummarizeTimestampReply(*query, reply);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_TRUE(summary->granted);
  EXPECT_EQ(summary->status, "granted");
  EXPECT_THAT(summary->time, ::testing::MatchesRegex("20[0-9-]+ [0-9:]+ UTC"));
  EXPECT_FALSE(summary->serial_hex.empty());
  // No TSA name in the token: the signer's certificate, which certReq put
  // in the reply, names it.
  EXPECT_EQ(summary->tsa, "CN=Test TSA");
  EXPECT_EQ(summary->policy, "1.3.6.1.4.1.99999.1");
}

TEST(TimestampQueryTest, AReplyToAnotherRequestIsRefused) {
  std::unique_ptr<GrantedReply> tsa = GrantedReply::Make();
  ASSERT_NE(tsa, nullptr);
  absl::StatusOr<TimestampQuery> asked = BuildTimestampQuery(v1::SHA256, kDigest, "");
  absl::StatusOr<TimestampQuery> other = BuildTimestampQuery(v1::SHA256, kDigest, "");
  ASSERT_TRUE(asked.ok() && other.ok());
  // The same data, another nonce: a replayed or misrouted reply.
  absl::StatusOr<TimestampReplySummary> summary =
      SummarizeTimestampReply(*asked, tsa->Answer(other->der));
  EXPECT_EQ(summary.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(summary.status().message(), HasSubstr("does not answer this request"));
  // Other data.
  absl::StatusOr<TimestampQuery> elsewhere =
      BuildTimestampQuery(v1::SHA256, std::string(32, '\x01'), "");
  ASSERT_TRUE(elsewhere.ok());
  EXPECT_EQ(SummarizeTimestampReply(*asked, tsa->Answer(elsewhere->der)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TimestampQueryTest, AsksForTheCertificateWithANonceOverTheDigest) {
  absl::StatusOr<TimestampQuery> query = BuildTimestampQuery(v1::SHA256, kDigest, "1.2.3.4");
  ASSERT_TRUE(query.ok()) << query.status();
  const unsigned char* in = reinterpret_cast<const unsigned char*>(query->der.data());
  TsReqPtr parsed(d2i_TS_REQ(nullptr, &in, static_cast<long>(query->der.size())));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(TS_REQ_get_version(parsed.get()), 1);
  EXPECT_EQ(TS_REQ_get_cert_req(parsed.get()), 1);
  ASSERT_NE(TS_REQ_get_nonce(parsed.get()), nullptr);
  TS_MSG_IMPRINT* imprint = TS_REQ_get_msg_imprint(parsed.get());
  EXPECT_EQ(OBJ_obj2nid(TS_MSG_IMPRINT_get_algo(imprint)->algorithm), NID_sha256);
  const ASN1_OCTET_STRING* message = TS_MSG_IMPRINT_get_msg(imprint);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(message)),
                        ASN1_STRING_length(message)),
            kDigest);
  char policy[64] = {};
  OBJ_obj2txt(policy, sizeof policy, TS_REQ_get_policy_id(parsed.get()), 1);
  EXPECT_STREQ(policy, "1.2.3.4");

  // Every request its own nonce: a reply to one answers no other.
  absl::StatusOr<TimestampQuery> again = BuildTimestampQuery(v1::SHA256, kDigest, "1.2.3.4");
  ASSERT_TRUE(again.ok());
  EXPECT_NE(query->der, again->der);
}

TEST(TimestampQueryTest, NoPolicyIsTheTsasDefaultAndABadOneIsRefused) {
  absl::StatusOr<TimestampQuery> query = BuildTimestampQuery(v1::SHA512, std::string(64, 'x'), "");
  ASSERT_TRUE(query.ok());
  EXPECT_EQ(TS_REQ_get_policy_id(query->request.get()), nullptr);
  absl::StatusOr<TimestampQuery> bad = BuildTimestampQuery(v1::SHA256, kDigest, "not-an-oid");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("not-an-oid"));
}

TEST(TimestampQueryTest, ARefusalNamesItsFailure) {
  absl::StatusOr<TimestampQuery> query = BuildTimestampQuery(v1::SHA256, kDigest, "");
  ASSERT_TRUE(query.ok());
  const std::string reply = RefusalOf(*query);
  ASSERT_FALSE(reply.empty());
  absl::StatusOr<TimestampReplySummary> summary = SummarizeTimestampReply(*query, reply);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_FALSE(summary->granted);
  EXPECT_EQ(summary->status, "rejection");
  EXPECT_THAT(summary->failure, HasSubstr("badAlg"));
}

TEST(TimestampQueryTest, BytesThatAreNoReplyAreRefused) {
  absl::StatusOr<TimestampQuery> query = BuildTimestampQuery(v1::SHA256, kDigest, "");
  ASSERT_TRUE(query.ok());
  EXPECT_EQ(SummarizeTimestampReply(*query, "<html>busy</html>").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace signet::cli
