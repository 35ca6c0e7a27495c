#include "appliance/cms/sink_bio.h"

#include <openssl/bio.h>

#include <string>

#include "gtest/gtest.h"

namespace signet::cms {
namespace {

// Appends to the string that is the BIO's state; refuses a write of "no".
int AppendUnlessNo(BIO* bio, const char* data, size_t length, size_t* written) {
  auto* out = static_cast<std::string*>(BIO_get_data(bio));
  if (std::string(data, length) == "no") return 0;
  out->append(data, length);
  *written = length;
  return 1;
}

TEST(SinkBioTest, WritesGoToTheFunctionWithTheStateAndFlushesSucceed) {
  static const BIO_METHOD* const method = NewSinkMethod("test sink", AppendUnlessNo);
  ASSERT_NE(method, nullptr);
  std::string first;
  std::string second;
  BioPtr one = NewSinkBio(method, &first);
  BioPtr two = NewSinkBio(method, &second);
  ASSERT_TRUE(one && two);
  EXPECT_EQ(BIO_write(one.get(), "abc", 3), 3);
  EXPECT_EQ(BIO_write(two.get(), "xy", 2), 2);
  EXPECT_EQ(BIO_write(one.get(), "def", 3), 3);
  EXPECT_EQ(first, "abcdef");
  EXPECT_EQ(second, "xy");
  EXPECT_EQ(BIO_flush(one.get()), 1);
  // What the function refuses fails the write; nothing else is supported.
  EXPECT_LE(BIO_write(one.get(), "no", 2), 0);
  EXPECT_EQ(first, "abcdef");
  char buffer[4];
  EXPECT_LE(BIO_read(one.get(), buffer, sizeof buffer), 0);
  EXPECT_LE(BIO_ctrl(one.get(), BIO_CTRL_RESET, 0, nullptr), 0);
}

TEST(SinkBioTest, NoMethodGivesNoBio) {
  std::string state;
  EXPECT_FALSE(NewSinkBio(nullptr, &state));
}

}  // namespace
}  // namespace signet::cms
