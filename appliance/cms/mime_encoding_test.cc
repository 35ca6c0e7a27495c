#include <openssl/evp.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "appliance/cms/base64_internal.h"
#include "appliance/cms/mime.h"
#include "appliance/cms/mime_internal.h"
#include "appliance/cms/mime_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::cms {
namespace {

using ::signet::matchers::IsOk;

using ::signet::cms::mime_testing::Bytes;
using ::signet::cms::mime_testing::Drawn;
using ::signet::cms::mime_testing::InvalidArgumentWith;
using ::testing::HasSubstr;
using ::testing::Not;

// The byte-at-a-time canonicalisation and decoder these replaced: the
// reference the fast ones must equal byte for byte, errors included.
std::string ReferenceToCrlf(absl::string_view text) {
  std::string out;
  char previous = '\0';
  for (char c : text) {
    if (c == '\n' && previous != '\r') out.push_back('\r');
    out.push_back(c);
    previous = c;
  }
  return out;
}

int ReferenceSextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

absl::StatusOr<std::string> ReferenceBase64Decode(absl::string_view text) {
  auto error = [](absl::string_view what, std::size_t offset) {
    return absl::InvalidArgumentError(absl::StrFormat("base64: %s at offset %d", what, offset));
  };
  std::string out;
  std::uint32_t bits = 0;
  int in_quantum = 0;
  int pad_needed = 0;
  int pad_seen = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (c == '=') {
      if (pad_seen == 0) {
        if (in_quantum < 2) return error("'=' where a quantum has fewer than 2 characters", i);
        pad_needed = 4 - in_quantum;
      }
      if (++pad_seen > pad_needed) return error("too much '=' padding", i);
      continue;
    }
    const int v = ReferenceSextet(c);
    if (v < 0) {
      return error(
          absl::StrFormat("byte 0x%02x outside the base64 alphabet", static_cast<unsigned char>(c)),
          i);
    }
    if (pad_seen > 0) return error("data after '=' padding", i);
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    if (++in_quantum == 4) {
      out.push_back(static_cast<char>((bits >> 16) & 0xff));
      out.push_back(static_cast<char>((bits >> 8) & 0xff));
      out.push_back(static_cast<char>(bits & 0xff));
      bits = 0;
      in_quantum = 0;
    }
  }
  if (pad_seen > 0) {
    if (pad_seen < pad_needed) return error("incomplete '=' padding", text.size());
    if (in_quantum == 2) {
      out.push_back(static_cast<char>((bits >> 4) & 0xff));
    } else {
      out.push_back(static_cast<char>((bits >> 10) & 0xff));
      out.push_back(static_cast<char>((bits >> 2) & 0xff));
    }
  } else if (in_quantum != 0) {
    return error(absl::StrFormat("last quantum has %d characters, '=' padding missing", in_quantum),
                 text.size());
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

TEST(ToCrlfTest, EqualsTheByteAtATimeCanonicalisation) {
  for (std::uint32_t seed = 0; seed < 2000; ++seed) {
    const std::string text = Drawn(seed % 97, seed, "ab\r\n\n");
    EXPECT_EQ(ToCrlf(text), ReferenceToCrlf(text)) << absl::CHexEscape(text);
  }
  const std::string large = Drawn(1 << 20, 5, "abcdefghijklmnopqrstuvwxyz \r\n");
  EXPECT_EQ(ToCrlf(large), ReferenceToCrlf(large));
}

TEST(CountLineFeedsTest, CountsEveryLineFeed) {
  EXPECT_EQ(CountLineFeeds(""), 0u);
  EXPECT_EQ(CountLineFeeds("\n"), 1u);
  EXPECT_EQ(CountLineFeeds("a\r\nb\nc\r"), 2u);
  EXPECT_EQ(CountLineFeeds(std::string("\0\n\0\n\n\0\0\0\0\n\0", 11)), 4u);
  for (std::uint32_t seed = 0; seed < 3000; ++seed) {
    // \x0a's neighbours and \x8a, which a careless bit trick counts too.
    const std::string text = Drawn(seed % 67, seed,
                                   "\n\x0b\x09\x8a\x0a\xff"
                                   "a");
    EXPECT_EQ(CountLineFeeds(text),
              static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')))
        << absl::CHexEscape(text);
  }
}

TEST(CountBareLineFeedsTest, CountsTheLineFeedsWithoutACrBefore) {
  EXPECT_EQ(CountBareLineFeeds(""), 0u);
  EXPECT_EQ(CountBareLineFeeds("\n"), 1u);
  EXPECT_EQ(CountBareLineFeeds("\r\n"), 0u);
  EXPECT_EQ(CountBareLineFeeds("a\r\nb\nc\r"), 1u);
  // A CR ending one word, its LF starting the next.
  EXPECT_EQ(CountBareLineFeeds("1234567\r\n234567\n"), 1u);
  for (std::uint32_t seed = 0; seed < 3000; ++seed) {
    // CR and LF and their neighbours, with the high bit too.
    const std::string text = Drawn(seed % 67, seed,
                                   "\n\r\x0c\x0e\x8a\x8d\x0b"
                                   "a");
    std::size_t bare = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
      bare += text[i] == '\n' && (i == 0 || text[i - 1] != '\r');
    }
    EXPECT_EQ(CountBareLineFeeds(text), bare) << absl::CHexEscape(text);
    EXPECT_EQ(ToCrlf(text).size(), text.size() + bare) << absl::CHexEscape(text);
  }
}

TEST(CountBareLineFeedsTest, ACrlfAcrossEveryBlockEdgeIsNotBare) {
  // A CRLF at every position of texts a few 16- and 32-byte blocks long,
  // beside a bare LF, in both kernels: the CR's bit carried into the next
  // block is what keeps its LF from counting.
  for (std::size_t size = 2; size <= 140; ++size) {
    for (std::size_t at = 0; at + 1 < size; ++at) {
      std::string text(size, 'a');
      text[at] = '\r';
      text[at + 1] = '\n';
      // A bare LF at the end, where the CRLF leaves room for one.
      const std::size_t expected = at + 2 < size ? 1 : 0;
      if (expected == 1) text[size - 1] = '\n';
      EXPECT_EQ(CountBareLineFeeds(text), expected) << size << " " << at;
      EXPECT_EQ(mime_internal::CountBareLineFeedsWithoutAvx2(text), expected) << size << " " << at;
    }
  }
}

TEST(CountBareLineFeedsTest, BothKernelsCountAlike) {
  for (std::uint32_t seed = 0; seed < 6000; ++seed) {
    const std::string text = Drawn(seed % 300, seed, "\n\r\r\naaaaaaaa\x8d");
    std::size_t bare = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
      bare += text[i] == '\n' && (i == 0 || text[i - 1] != '\r');
    }
    ASSERT_EQ(CountBareLineFeeds(text), bare) << absl::CHexEscape(text);
    ASSERT_EQ(mime_internal::CountBareLineFeedsWithoutAvx2(text), bare) << absl::CHexEscape(text);
  }
}

TEST(AppendCrlfTest, CanonicalTextIsCopiedAsItIs) {
  const std::string text = "line\r\nline\r\n\r\nlast";
  std::string out = "kept";
  AppendCrlf(text, &out);
  EXPECT_EQ(out, "kept" + text);
}

TEST(AppendCrlfTest, AppendsAfterWhatIsThere) {
  std::string out = "kept\n";
  AppendCrlf("a\nb\r\nc", &out);
  EXPECT_EQ(out, "kept\na\r\nb\r\nc");
  AppendCrlf("", &out);
  EXPECT_EQ(out, "kept\na\r\nb\r\nc");
  AppendCrlf("\n", &out);
  EXPECT_EQ(out, "kept\na\r\nb\r\nc\r\n");
}

TEST(AppendBase64Test, AppendsWhatBase64EncodeReturns) {
  for (std::size_t size : {0u, 1u, 2u, 3u, 56u, 57u, 58u, 1000u}) {
    std::string out = "prefix";
    AppendBase64(Bytes(size, 3), &out);
    EXPECT_EQ(out, "prefix" + Base64Encode(Bytes(size, 3))) << size;
  }
}

TEST(Base64EncodeTest, EncodedSizeIsTheSizeOfTheResult) {
  for (std::size_t size = 0; size <= 300; ++size) {
    EXPECT_EQ(Base64EncodedSize(size), Base64Encode(Bytes(size, 1)).size()) << size;
  }
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

// Base64Decode, and each implementation behind it that this CPU runs.
std::vector<std::pair<std::string, absl::StatusOr<std::string> (*)(absl::string_view)>> Decoders() {
  std::vector<std::pair<std::string, absl::StatusOr<std::string> (*)(absl::string_view)>> decoders =
      {{"Base64Decode", Base64Decode}, {"scalar", base64_internal::DecodeScalar}};
#if defined(__x86_64__)
  if (base64_internal::CpuHasAvx2()) decoders.emplace_back("AVX2", base64_internal::DecodeAvx2);
#endif
  return decoders;
}

TEST(Base64DecodeTest, EqualsTheByteAtATimeDecoderErrorsIncluded) {
  for (const auto& [name, decode] : Decoders()) {
    SCOPED_TRACE(name);
    for (std::uint32_t seed = 0; seed < 20000; ++seed) {
      const std::string text = Drawn(seed % 41, seed, "QUJDRA=  =\r\n\t!");
      absl::StatusOr<std::string> fast = decode(text);
      absl::StatusOr<std::string> reference = ReferenceBase64Decode(text);
      ASSERT_EQ(fast.status(), reference.status()) << absl::CHexEscape(text);
      if (fast.ok()) {
        EXPECT_EQ(*fast, *reference) << absl::CHexEscape(text);
      }
    }
    // Well-formed lines of base64, then each kind of damage somewhere inside.
    const std::string encoded = Base64Encode(Bytes(100000, 9));
    ASSERT_THAT(decode(encoded), IsOk());
    EXPECT_EQ(*decode(encoded), Bytes(100000, 9));
    for (std::size_t at : {0u, 1u, 77u, 78u, 5001u, 133000u}) {
      for (char damage : {'=', '!', ' ', '\n', '\0'}) {
        std::string text = encoded;
        text[at] = damage;
        absl::StatusOr<std::string> fast = decode(text);
        absl::StatusOr<std::string> reference = ReferenceBase64Decode(text);
        ASSERT_EQ(fast.status(), reference.status()) << at << " " << int{damage};
        if (fast.ok()) {
          EXPECT_EQ(*fast, *reference) << at;
        }
      }
    }
  }
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
