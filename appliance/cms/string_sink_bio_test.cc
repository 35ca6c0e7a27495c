#include "appliance/cms/string_sink_bio.h"

#include <openssl/bio.h>

#include <string>

#include "gtest/gtest.h"

namespace signet::cms {
namespace {

TEST(StringSinkBioTest, AppendsEveryWriteToTheString) {
  std::string out = "kept:";
  BioPtr bio = NewStringSinkBio(&out);
  ASSERT_TRUE(bio);
  EXPECT_EQ(BIO_write(bio.get(), "abc", 3), 3);
  EXPECT_EQ(BIO_write(bio.get(), "", 0), 0);
  EXPECT_EQ(BIO_flush(bio.get()), 1);
  EXPECT_EQ(out, "kept:abc");
}

TEST(StringSinkBioTest, GrowsPastTheReservedCapacity) {
  std::string out;
  out.reserve(16);
  BioPtr bio = NewStringSinkBio(&out);
  ASSERT_TRUE(bio);
  std::string expected;
  for (int i = 0; i < 1000; ++i) {
    const std::string piece(static_cast<size_t>(i % 37) + 1, static_cast<char>('a' + i % 26));
    ASSERT_EQ(BIO_write(bio.get(), piece.data(), static_cast<int>(piece.size())),
              static_cast<int>(piece.size()));
    expected += piece;
  }
  EXPECT_EQ(out, expected);
}

TEST(StringSinkBioTest, WritesWithinTheReservationDoNotMoveTheString) {
  std::string out;
  out.reserve(4096);
  const char* const where = out.data();
  BioPtr bio = NewStringSinkBio(&out);
  ASSERT_TRUE(bio);
  const std::string block(1000, 'z');
  for (int i = 0; i < 4; ++i) ASSERT_EQ(BIO_write(bio.get(), block.data(), 1000), 1000);
  EXPECT_EQ(out.data(), where);
  EXPECT_EQ(out.size(), 4000u);
}

TEST(StringSinkBioTest, WipeStringEmptiesIt) {
  std::string text = "confidential";
  WipeString(&text);
  EXPECT_TRUE(text.empty());
  WipeString(&text);
  EXPECT_TRUE(text.empty());
}

}  // namespace
}  // namespace signet::cms
