#include "appliance/cli/timestamp_query.h"

#include <openssl/ts.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

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
