// Signature time-stamps on SignedData and whole mails that Signet signed
// with a software key, stamped by the real `openssl ts -reply` through the
// TSA client: `openssl cms` still verifies the signatures, `openssl ts
// -verify` accepts the tokens over the signature values, and a token moved
// or tampered with is told apart.
#include "appliance/cms/signature_timestamp.h"

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "appliance/cms/cms_reader.h"
#include "appliance/cms/mail_signer.h"
#include "appliance/cms/mime.h"
#include "appliance/cms/signed_data.h"
#include "appliance/cms/signer_info_bytes.h"
#include "appliance/timestamp/timestamp_token.h"
#include "appliance/timestamp/tsa_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/cms_verifiers.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/subprocess.h"
#include "tests/fixtures/temp_dir.h"
#include "tests/fixtures/test_pki.h"
#include "tests/fixtures/tsa_responder.h"

namespace signet::cms {
namespace {

using ::signet::matchers::IsOk;
using ::signet::matchers::StatusIs;
using ::testing::HasSubstr;
using timestamp::TokenStatus;

constexpr char kEntity[] =
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "Statement for December.\r\n";

constexpr char kMail[] =
    "From: statements@bank.example\r\n"
    "To: customer@example.org\r\n"
    "Subject: Your statement\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "Statement for December.\r\n";

class SignatureTimestampTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(dir_, fixtures::TempDir::Create("signet-signature-timestamp"));
    ASSERT_OK_AND_ASSIGN(ca_, fixtures::TestCa::Create("Signet Mail CA"));
    ASSERT_OK_AND_ASSIGN(key_, fixtures::GenerateKey("EC:P-256"));
    ASSERT_OK_AND_ASSIGN(certificate_,
                         ca_->Issue(key_.get(), "Statements", "statements@bank.example"));
    ASSERT_THAT(fixtures::WritePem(dir_->File("ca.pem"), ca_->certificate()), IsOk());

    ASSERT_OK_AND_ASSIGN(tsa_ca_, fixtures::TestCa::Create("Signet TSA Root"));
    ASSERT_OK_AND_ASSIGN(tsa_key_, fixtures::GenerateKey("EC:P-256"));
    ASSERT_OK_AND_ASSIGN(tsa_, tsa_ca_->Issue(tsa_key_.get(), "Test TSA", "",
                                              {.extended_key_usage = "critical,timeStamping"}));
    ASSERT_THAT(fixtures::WritePem(dir_->File("tsa-root.pem"), tsa_ca_->certificate()), IsOk());
    ASSERT_OK_AND_ASSIGN(tsa_server_, fixtures::TsaResponder::Start(
                                          {.signer = tsa_.get(), .signer_key = tsa_key_.get()}));
    ASSERT_OK_AND_ASSIGN(client_,
                         timestamp::TsaClient::Create(
                             {.urls = {tsa_server_->Url()}, .anchors = {tsa_ca_->certificate()}}));
  }

  Signer signer() const { return {.key = key_.get(), .certificate = certificate_.get()}; }

  // Stamps with the TSA, remembering what was stamped and what came back.
  StampFunction Stamp() {
    return [this](absl::string_view signature_value) -> absl::StatusOr<std::string> {
      ASSIGN_OR_RETURN(timestamp::Timestamp stamp, client_->Stamp(signature_value));
      stamped_values_.emplace_back(signature_value);
      tokens_.push_back(stamp.facts.token_der);
      return stamp.facts.token_der;
    };
  }

  timestamp::TokenVerification VerifyToken(absl::string_view token, absl::string_view data) {
    absl::StatusOr<timestamp::TokenVerification> verification =
        timestamp::VerifyTimestampToken(token, data, {tsa_ca_->certificate()});
    EXPECT_THAT(verification, IsOk());
    return verification.value_or(timestamp::TokenVerification{});
  }

  // `openssl ts -verify -data <signature value> -in <token> -token_in`.
  absl::StatusOr<fixtures::CommandResult> OpensslTsVerify(const std::string& token,
                                                          const std::string& signature_value) {
    std::ofstream(dir_->File("token.der"), std::ios::binary) << token;
    std::ofstream(dir_->File("signature.bin"), std::ios::binary) << signature_value;
    return fixtures::RunCommand({"openssl", "ts", "-verify", "-data", dir_->File("signature.bin"),
                                 "-in", dir_->File("token.der"), "-token_in", "-CAfile",
                                 dir_->File("tsa-root.pem")});
  }

  // The SignedData of a signed mail, read with the project's MIME code.
  absl::StatusOr<std::string> CmsOfMail(absl::string_view mail) {
    ASSIGN_OR_RETURN(MimeEntity entity, ParseEntity(mail, context_.limits));
    ASSIGN_OR_RETURN(ContentType type, ContentTypeOf(entity));
    if (IsPkcs7Mime(type)) return CmsBytesOf(entity);
    ASSIGN_OR_RETURN(Multipart multipart,
                     SplitMultipart(entity.body, *type.Param("boundary"), context_.limits));
    ASSIGN_OR_RETURN(MimeEntity signature, ParseEntity(multipart.parts[1], context_.limits));
    return CmsBytesOf(signature);
  }

  CmsContext context_;
  std::optional<fixtures::TempDir> dir_;
  std::optional<fixtures::TestCa> ca_;
  EvpPkeyPtr key_;
  X509Ptr certificate_;
  std::optional<fixtures::TestCa> tsa_ca_;
  EvpPkeyPtr tsa_key_;
  X509Ptr tsa_;
  std::unique_ptr<fixtures::TsaResponder> tsa_server_;
  std::unique_ptr<timestamp::TsaClient> client_;
  std::vector<std::string> stamped_values_;
  std::vector<std::string> tokens_;
};

TEST_F(SignatureTimestampTest, ADetachedSignatureIsStampedAndStillVerifies) {
  ASSERT_OK_AND_ASSIGN(std::string der, SignDetached(context_, kEntity, signer(), {}));
  ASSERT_OK_AND_ASSIGN(std::string stamped, AddSignatureTimestamps(context_, der, Stamp()));
  EXPECT_NE(stamped, der);

  // What the signature covers is where it was, byte for byte.
  ASSERT_OK_AND_ASSIGN(std::vector<SignerInfoBytes> before, SignerInfoBytesOf(der));
  ASSERT_EQ(before.size(), 1u);
  ASSERT_FALSE(before[0].signed_attributes.empty());
  EXPECT_TRUE(absl::StrContains(stamped, before[0].signed_attributes));
  EXPECT_TRUE(absl::StrContains(stamped, before[0].signature));
  // id-aa-timeStampToken, 1.2.840.113549.1.9.16.2.14, is there now.
  const std::string attribute_oid("\x06\x0b\x2a\x86\x48\x86\xf7\x0d\x01\x09\x10\x02\x0e", 13);
  EXPECT_FALSE(absl::StrContains(der, attribute_oid));
  EXPECT_TRUE(absl::StrContains(stamped, attribute_oid));
  EXPECT_THAT(fixtures::OpensslCmsVerify(stamped, dir_->File("ca.pem"), std::string(kEntity)),
              IsOk());

  // The token is over the signature value, and openssl agrees.
  ASSERT_EQ(stamped_values_.size(), 1u);
  EXPECT_EQ(stamped_values_[0], before[0].signature);
  ASSERT_OK_AND_ASSIGN(std::vector<SignatureTimestamp> found,
                       SignatureTimestamps(context_, stamped));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].signature_value, before[0].signature);
  ASSERT_TRUE(found[0].token_der.has_value());
  EXPECT_EQ(*found[0].token_der, tokens_[0]);
  EXPECT_EQ(VerifyToken(*found[0].token_der, found[0].signature_value).status, TokenStatus::kValid);
  ASSERT_OK_AND_ASSIGN(fixtures::CommandResult verified,
                       OpensslTsVerify(*found[0].token_der, found[0].signature_value));
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_THAT(verified.out, HasSubstr("Verification: OK"));

  // An unstamped SignedData has none.
  ASSERT_OK_AND_ASSIGN(std::vector<SignatureTimestamp> unstamped,
                       SignatureTimestamps(context_, der));
  ASSERT_EQ(unstamped.size(), 1u);
  EXPECT_FALSE(unstamped[0].token_der.has_value());
}

TEST_F(SignatureTimestampTest, EverySignerGetsAStampOverItsOwnSignature) {
  ASSERT_OK_AND_ASSIGN(std::string der, SignDetached(context_, kEntity, signer(), {}));
  // A second signer, added by `openssl cms -resign`.
  ASSERT_OK_AND_ASSIGN(EvpPkeyPtr second_key, fixtures::GenerateKey("EC:P-256"));
  ASSERT_OK_AND_ASSIGN(X509Ptr second,
                       ca_->Issue(second_key.get(), "Notices", "notices@bank.example"));
  ASSERT_THAT(fixtures::WritePem(dir_->File("second.pem"), second.get()), IsOk());
  ASSERT_THAT(fixtures::WritePrivateKeyPem(dir_->File("second.key"), second_key.get()), IsOk());
  std::ofstream(dir_->File("one.der"), std::ios::binary) << der;
  ASSERT_THAT(fixtures::RunCommandOk({"openssl", "cms", "-resign", "-binary", "-inform", "DER",
                                      "-in", dir_->File("one.der"), "-signer",
                                      dir_->File("second.pem"), "-inkey", dir_->File("second.key"),
                                      "-outform", "DER", "-out", dir_->File("two.der")}),
              IsOk());
  std::ifstream in(dir_->File("two.der"), std::ios::binary);
  const std::string two((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

  ASSERT_OK_AND_ASSIGN(std::string stamped, AddSignatureTimestamps(context_, two, Stamp()));
  EXPECT_THAT(fixtures::OpensslCmsVerify(stamped, dir_->File("ca.pem"), std::string(kEntity)),
              IsOk());
  ASSERT_OK_AND_ASSIGN(std::vector<SignatureTimestamp> found,
                       SignatureTimestamps(context_, stamped));
  ASSERT_EQ(found.size(), 2u);
  EXPECT_NE(found[0].signature_value, found[1].signature_value);
  for (const SignatureTimestamp& entry : found) {
    ASSERT_TRUE(entry.token_der.has_value());
    EXPECT_EQ(VerifyToken(*entry.token_der, entry.signature_value).status, TokenStatus::kValid);
  }
  EXPECT_EQ(VerifyToken(*found[0].token_der, found[1].signature_value).status,
            TokenStatus::kOtherData);
}

TEST_F(SignatureTimestampTest, AnAttachedSignatureIsStampedAndStillVerifies) {
  ASSERT_OK_AND_ASSIGN(std::string der, SignAttached(context_, kEntity, signer(), {}));
  ASSERT_OK_AND_ASSIGN(std::string stamped, AddSignatureTimestamps(context_, der, Stamp()));
  std::string content;
  EXPECT_THAT(fixtures::OpensslCmsVerify(stamped, dir_->File("ca.pem"), std::nullopt, &content),
              IsOk());
  EXPECT_EQ(content, kEntity);
}

TEST_F(SignatureTimestampTest, AMultipartSignedMailChangesOnlyInItsSignaturePart) {
  ASSERT_OK_AND_ASSIGN(std::string mail, SignMail(context_, kMail, signer(), {}));
  ASSERT_OK_AND_ASSIGN(std::string stamped, TimestampSignedMail(context_, mail, Stamp()));
  EXPECT_THAT(fixtures::OpensslSmimeVerify(stamped, dir_->File("ca.pem")), IsOk());

  // Up to the signature part's body, and from the closing delimiter on,
  // the bytes are the same.
  const std::string part_head = "filename=\"smime.p7s\"\r\n\r\n";
  const size_t body = mail.find(part_head);
  ASSERT_NE(body, std::string::npos);
  const size_t body_start = body + part_head.size();
  EXPECT_EQ(stamped.substr(0, body_start), mail.substr(0, body_start));
  const size_t close = mail.rfind("\r\n--");
  ASSERT_NE(close, std::string::npos);
  const std::string tail = mail.substr(close);
  ASSERT_GE(stamped.size(), tail.size());
  EXPECT_EQ(stamped.substr(stamped.size() - tail.size()), tail);
  // The new body is base64 in the project's lines: 76 characters, CRLF.
  const std::string new_body =
      stamped.substr(body_start, stamped.size() - tail.size() - body_start);
  for (absl::string_view line : absl::StrSplit(new_body, "\r\n")) {
    EXPECT_LE(line.size(), 76u);
    EXPECT_FALSE(absl::StrContains(line, '\n'));
  }

  ASSERT_OK_AND_ASSIGN(std::string cms, CmsOfMail(stamped));
  ASSERT_OK_AND_ASSIGN(std::vector<SignatureTimestamp> found, SignatureTimestamps(context_, cms));
  ASSERT_EQ(found.size(), 1u);
  ASSERT_TRUE(found[0].token_der.has_value());
  ASSERT_OK_AND_ASSIGN(fixtures::CommandResult verified,
                       OpensslTsVerify(*found[0].token_der, found[0].signature_value));
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
}

TEST_F(SignatureTimestampTest, AnOpaqueSignedMailIsStampedInPlace) {
  ASSERT_OK_AND_ASSIGN(std::string mail,
                       SignMail(context_, kMail, signer(), {.form = SignedForm::kOpaque}));
  ASSERT_OK_AND_ASSIGN(std::string stamped, TimestampSignedMail(context_, mail, Stamp()));
  std::string content;
  EXPECT_THAT(fixtures::OpensslSmimeVerify(stamped, dir_->File("ca.pem"), &content), IsOk());
  EXPECT_THAT(content, HasSubstr("Statement for December."));
  const size_t body_start = mail.find("\r\n\r\n") + 4;
  EXPECT_EQ(stamped.substr(0, body_start), mail.substr(0, body_start));
  EXPECT_TRUE(absl::EndsWith(stamped, "\r\n"));
  ASSERT_OK_AND_ASSIGN(std::string cms, CmsOfMail(stamped));
  ASSERT_OK_AND_ASSIGN(std::vector<SignatureTimestamp> found, SignatureTimestamps(context_, cms));
  ASSERT_EQ(found.size(), 1u);
  ASSERT_TRUE(found[0].token_der.has_value());
  EXPECT_EQ(VerifyToken(*found[0].token_der, found[0].signature_value).status, TokenStatus::kValid);
}

TEST_F(SignatureTimestampTest, AMailWithLfLineEndsKeepsThem) {
  ASSERT_OK_AND_ASSIGN(std::string mail, SignMail(context_, kMail, signer(), {}));
  const std::string lf_mail = absl::StrReplaceAll(mail, {{"\r\n", "\n"}});
  ASSERT_OK_AND_ASSIGN(std::string stamped, TimestampSignedMail(context_, lf_mail, Stamp()));
  EXPECT_FALSE(absl::StrContains(stamped, '\r'));
  EXPECT_THAT(fixtures::OpensslSmimeVerify(stamped, dir_->File("ca.pem")), IsOk());
}

TEST_F(SignatureTimestampTest, AStampMovedFromAnotherSignatureIsOverOtherData) {
  ASSERT_OK_AND_ASSIGN(std::string first, SignDetached(context_, kEntity, signer(), {}));
  ASSERT_OK_AND_ASSIGN(
      std::string second,
      SignDetached(context_, "Content-Type: text/plain\r\n\r\nOther.\r\n", signer(), {}));
  ASSERT_OK_AND_ASSIGN(std::string stamped_first, AddSignatureTimestamps(context_, first, Stamp()));
  ASSERT_OK_AND_ASSIGN(std::vector<SignatureTimestamp> first_stamps,
                       SignatureTimestamps(context_, stamped_first));
  const std::string moved = *first_stamps[0].token_der;
  ASSERT_OK_AND_ASSIGN(
      std::string stamped_second,
      AddSignatureTimestamps(context_, second, [&](absl::string_view) { return moved; }));
  // The signature is untouched, so it still verifies...
  EXPECT_THAT(fixtures::OpensslCmsVerify(stamped_second, dir_->File("ca.pem"),
                                         std::string("Content-Type: text/plain\r\n\r\nOther.\r\n")),
              IsOk());
  // ...but its stamp is someone else's.
  ASSERT_OK_AND_ASSIGN(std::vector<SignatureTimestamp> found,
                       SignatureTimestamps(context_, stamped_second));
  timestamp::TokenVerification verification =
      VerifyToken(*found[0].token_der, found[0].signature_value);
  EXPECT_EQ(verification.status, TokenStatus::kOtherData);
  EXPECT_EQ(verification.problem, "the stamp is over other data");
  ASSERT_OK_AND_ASSIGN(fixtures::CommandResult verified,
                       OpensslTsVerify(*found[0].token_der, found[0].signature_value));
  EXPECT_NE(verified.exit_code, 0);
}

TEST_F(SignatureTimestampTest, ATamperedTokenIsReported) {
  ASSERT_OK_AND_ASSIGN(std::string der, SignDetached(context_, kEntity, signer(), {}));
  ASSERT_OK_AND_ASSIGN(
      std::string stamped,
      AddSignatureTimestamps(context_, der,
                             [&](absl::string_view value) -> absl::StatusOr<std::string> {
                               ASSIGN_OR_RETURN(timestamp::Timestamp stamp, client_->Stamp(value));
                               std::string token = stamp.facts.token_der;
                               token.back() ^= 0x01;  // in the TSA's signature
                               return token;
                             }));
  ASSERT_OK_AND_ASSIGN(std::vector<SignatureTimestamp> found,
                       SignatureTimestamps(context_, stamped));
  EXPECT_EQ(VerifyToken(*found[0].token_der, found[0].signature_value).status,
            TokenStatus::kBadSignature);
}

// The signed attributes' first two elements swapped: the same SET, no
// longer in DER order (the lengths do not change).
absl::StatusOr<std::string> WithUnsortedSignedAttributes(const std::string& der) {
  ASSIGN_OR_RETURN(std::vector<SignerInfoBytes> signers, SignerInfoBytesOf(der));
  const absl::string_view attributes = signers.at(0).signed_attributes;
  const auto* begin = reinterpret_cast<const unsigned char*>(attributes.data());
  const unsigned char* cursor = begin;
  long length = 0;
  int tag = 0;
  int object_class = 0;
  ASN1_get_object(&cursor, &length, &tag, &object_class, static_cast<long>(attributes.size()));
  std::vector<absl::string_view> elements;
  while (cursor < begin + attributes.size()) {
    const unsigned char* element = cursor;
    ASN1_get_object(&cursor, &length, &tag, &object_class,
                    static_cast<long>(begin + attributes.size() - cursor));
    cursor += length;
    elements.emplace_back(reinterpret_cast<const char*>(element),
                          static_cast<size_t>(cursor - element));
  }
  if (elements.size() < 2 || elements[0] == elements[1]) {
    return absl::InternalError("too few signed attributes");
  }
  const size_t header = static_cast<size_t>(elements[0].data() - attributes.data());
  std::string swapped =
      absl::StrCat(attributes.substr(0, header), elements[1], elements[0],
                   attributes.substr(header + elements[0].size() + elements[1].size()));
  std::string result = der;
  result.replace(static_cast<size_t>(attributes.data() - der.data()), attributes.size(), swapped);
  return result;
}

TEST_F(SignatureTimestampTest, SignedAttributesThatAreNotDerAreNotReencoded) {
  ASSERT_OK_AND_ASSIGN(std::string der, SignDetached(context_, kEntity, signer(), {}));
  ASSERT_OK_AND_ASSIGN(std::string unsorted, WithUnsortedSignedAttributes(der));
  ASSERT_NE(unsorted, der);
  EXPECT_THAT(AddSignatureTimestamps(context_, unsorted, Stamp()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not in DER")));
  // Refused before a TSA was asked.
  EXPECT_TRUE(stamped_values_.empty());
  EXPECT_EQ(tsa_server_->Requests(), 0);
}

TEST_F(SignatureTimestampTest, StampFailuresAndBadInputAreErrors) {
  ASSERT_OK_AND_ASSIGN(std::string der, SignDetached(context_, kEntity, signer(), {}));
  EXPECT_THAT(AddSignatureTimestamps(context_, der,
                                     [](absl::string_view) -> absl::StatusOr<std::string> {
                                       return absl::UnavailableError("no TSA");
                                     }),
              StatusIs(absl::StatusCode::kUnavailable, "no TSA"));
  EXPECT_THAT(AddSignatureTimestamps(
                  context_, der,
                  [](absl::string_view) -> absl::StatusOr<std::string> { return "not DER"; }),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(AddSignatureTimestamps(context_, "not a SignedData", Stamp()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(TimestampSignedMail(context_, kMail, Stamp()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("neither")));
  EXPECT_TRUE(stamped_values_.empty());
}

}  // namespace
}  // namespace signet::cms
