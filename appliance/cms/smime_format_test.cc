#include "appliance/cms/smime_format.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "appliance/cms/mime.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace signet::cms {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

// The boundary a multipart/signed entity was written with.
std::string BoundaryOf(const std::string& entity) {
  const std::string marker = "boundary=\"";
  const size_t begin = entity.find(marker) + marker.size();
  return entity.substr(begin, entity.find('"', begin) - begin);
}

TEST(SmimeFormatTest, RandomBoundaryIsFixedAndVaries) {
  const std::string one = RandomBoundary();
  EXPECT_THAT(one, MatchesRegex("=_signet_[0-9a-f]{32}"));
  EXPECT_NE(one, RandomBoundary());
}

TEST(SmimeFormatTest, NewBoundaryIsAbsentFromTheContent) {
  const std::string content = absl::StrCat("text ", RandomBoundary(), " text");
  const std::string boundary = NewBoundary(content);
  EXPECT_THAT(content, Not(HasSubstr(boundary)));
}

TEST(SmimeFormatTest, HeadEntityAndTailMakeTheMultipartSignedEntity) {
  const std::string entity = "Content-Type: text/plain\r\n\r\nhello\r\n";
  const std::string signature = std::string(300, '\x42') + "\x01\xff";
  const std::string whole = MultipartSignedEntity(entity, signature, DigestAlgorithm::kSha384);
  const std::string boundary = BoundaryOf(whole);
  ASSERT_FALSE(boundary.empty());
  std::string pieces = "kept";
  AppendMultipartSignedHead(boundary, DigestAlgorithm::kSha384, &pieces);
  pieces += entity;
  AppendMultipartSignedTail(boundary, signature, &pieces);
  EXPECT_EQ(pieces, "kept" + whole);
  EXPECT_THAT(whole, HasSubstr("micalg=sha-384"));
  EXPECT_TRUE(absl::EndsWith(whole, absl::StrCat("--", boundary, "--\r\n")));
  EXPECT_THAT(whole, HasSubstr(Base64Encode(signature)));
}

TEST(SmimeFormatTest, AppendPkcs7MimeEntityAppendsWhatPkcs7MimeEntityReturns) {
  const std::string der(1000, '\x30');
  for (SmimeType type :
       {SmimeType::kSignedData, SmimeType::kEnvelopedData, SmimeType::kAuthEnvelopedData}) {
    std::string out = "kept";
    AppendPkcs7MimeEntity(der, type, &out);
    EXPECT_EQ(out, "kept" + Pkcs7MimeEntity(der, type));
  }
  EXPECT_THAT(Pkcs7MimeEntity(der, SmimeType::kAuthEnvelopedData),
              HasSubstr("smime-type=authEnveloped-data;"));
}

}  // namespace
}  // namespace signet::cms
