#include <openssl/evp.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "appliance/cms/mime.h"
#include "appliance/cms/mime_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::cms {
namespace {

using ::signet::matchers::IsOk;

using ::signet::cms::mime_testing::InvalidArgumentWith;
using ::testing::HasSubstr;
using ::testing::Not;

// Deterministic bytes covering all 256 values.
std::string Bytes(std::size_t size, std::uint32_t seed) {
  std::string out(size, '\0');
  for (char& c : out) {
    seed = seed * 1664525u + 1013904223u;
    c = static_cast<char>(seed >> 24);
  }
  return out;
}

TEST(ToCrlfTest, CanonicalizesLineBreaks) {
  EXPECT_EQ(ToCrlf(""), "");
  EXPECT_EQ(ToCrlf("no break"), "no break");
  EXPECT_EQ(ToCrlf("a\nb\n"), "a\r\nb\r\n");
  EXPECT_EQ(ToCrlf("\n\n"), "\r\n\r\n");
  EXPECT_EQ(ToCrlf("a\r\nb\r\n"), "a\r\nb\r\n");
  // A lone CR is not a line break here: kept as it is.
  EXPECT_EQ(ToCrlf("a\rb\r"), "a\rb\r");
  EXPECT_EQ(ToCrlf("a\n\r\nb\r\rc\n\r\r\n"), "a\r\n\r\nb\r\rc\r\n\r\r\n");
  const std::string crlf = ToCrlf("x\ny\r\nz\r");
  EXPECT_EQ(ToCrlf(crlf), crlf);
}

TEST(Base64EncodeTest, Rfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==\r\n");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=\r\n");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v\r\n");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==\r\n");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=\r\n");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy\r\n");
}

TEST(Base64EncodeTest, WritesLinesOf76CharactersEachEndedByCrlf) {
  EXPECT_EQ(Base64Encode(std::string(57, 'x')).size(), 78u);
  for (std::size_t size : {1u, 56u, 57u, 58u, 114u, 115u, 1000u}) {
    const std::string encoded = Base64Encode(Bytes(size, 7));
    ASSERT_TRUE(absl::EndsWith(encoded, "\r\n")) << size;
    std::vector<std::string> lines = absl::StrSplit(encoded.substr(0, encoded.size() - 2), "\r\n");
    EXPECT_EQ(lines.size(), (size + 56) / 57) << size;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (i + 1 < lines.size()) {
        EXPECT_EQ(lines[i].size(), 76u) << size;
      }
      EXPECT_LE(lines[i].size(), 76u) << size;
      EXPECT_THAT(lines[i], Not(HasSubstr("\n")));
    }
  }
}

TEST(Base64EncodeTest, AgreesWithOpenSsl) {
  for (std::size_t size = 0; size <= 200; ++size) {
    const std::string data = Bytes(size, static_cast<std::uint32_t>(size));
    std::string expected(4 * ((size + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(expected.data()),
                                  reinterpret_cast<const unsigned char*>(data.data()),
                                  static_cast<int>(size));
    expected.resize(static_cast<std::size_t>(n));
    EXPECT_EQ(absl::StrReplaceAll(Base64Encode(data), {{"\r\n", ""}}), expected) << size;
  }
}

TEST(Base64DecodeTest, RoundTripsEverySizeUpTo200) {
  for (std::size_t size = 0; size <= 200; ++size) {
    const std::string data = Bytes(size, static_cast<std::uint32_t>(size) + 1000);
    absl::StatusOr<std::string> decoded = Base64Decode(Base64Encode(data));
    ASSERT_THAT(decoded, IsOk()) << size << ": " << decoded.status();
    EXPECT_EQ(*decoded, data) << size;
  }
}

TEST(Base64DecodeTest, IgnoresWhitespaceAnywhere) {
  absl::StatusOr<std::string> decoded = Base64Decode(" Zm9v\r\nYm\tE =\n \r\n");
  ASSERT_THAT(decoded, IsOk());
  EXPECT_EQ(*decoded, "fooba");
  decoded = Base64Decode("Zg=\r\n=");
  ASSERT_THAT(decoded, IsOk());
  EXPECT_EQ(*decoded, "f");
  decoded = Base64Decode(" \r\n");
  ASSERT_THAT(decoded, IsOk());
  EXPECT_EQ(*decoded, "");
}

TEST(Base64DecodeTest, RejectsBadInput) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"Zm9v!", "byte 0x21 outside the base64 alphabet at offset 4"},
      {"Zm9v-_", "byte 0x2d outside the base64 alphabet at offset 4"},
      {std::string("Zm\0v", 4), "byte 0x00 outside the base64 alphabet at offset 2"},
      {"Zm\x80v", "byte 0x80 outside the base64 alphabet at offset 2"},
      {"Zm9vY\f", "byte 0x0c outside the base64 alphabet at offset 5"},
      {"Zg=", "incomplete '=' padding at offset 3"},
      {"Zg", "last quantum has 2 characters, '=' padding missing at offset 2"},
      {"Zm9vY", "last quantum has 1 characters"},
      {"=", "'=' where a quantum has fewer than 2 characters at offset 0"},
      {"Z===", "'=' where a quantum has fewer than 2 characters at offset 1"},
      {"Zm9v====", "'=' where a quantum has fewer than 2 characters at offset 4"},
      {"Zg===", "too much '=' padding at offset 4"},
      {"Zm8==", "too much '=' padding at offset 4"},
      {"Zg==Zg==", "data after '=' padding at offset 4"},
      {"Zm8=\r\nx", "data after '=' padding at offset 6"},
      {"Zm8=!", "byte 0x21 outside the base64 alphabet at offset 4"},
  };
  for (const auto& [text, message] : cases) {
    EXPECT_THAT(Base64Decode(text), InvalidArgumentWith("base64: " + message)) << text;
  }
}

}  // namespace
}  // namespace signet::cms
