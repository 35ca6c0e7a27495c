// The AVX2 base64 codec against the scalar one (base64_internal.h), both
// called directly whatever the dispatcher picked: every result byte for
// byte, every error by its message. The scalar codec's own known answers
// and its agreement with the byte-at-a-time decoder are in
// mime_encoding_test.cc.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "appliance/cms/base64_internal.h"
#include "appliance/cms/mime.h"
#include "appliance/cms/mime_test_util.h"
#include "gtest/gtest.h"

namespace signet::cms::base64_internal {
namespace {

using ::signet::cms::mime_testing::Bytes;

using Encoder = void (*)(const unsigned char*, std::size_t, char*);

// Guard bytes after the encoded size: an encoder must write all of its
// output and nothing beyond it.
constexpr std::size_t kGuard = 64;
constexpr char kGuardByte = '\xa5';

// `text` cut into lines of `width` characters, each ended by `line_break`.
std::string Wrapped(absl::string_view text, std::size_t width, absl::string_view line_break) {
  std::string wrapped;
  for (std::size_t at = 0; at < text.size(); at += width) {
    absl::StrAppend(&wrapped, text.substr(at, width), line_break);
  }
  return wrapped;
}

std::string EncodeWith(Encoder encode, absl::string_view data) {
  const std::size_t size = Base64EncodedSize(data.size());
  // Filled with a byte no encoder writes, so that a byte left unwritten
  // shows.
  std::string out(size + kGuard, kGuardByte);
  encode(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data());
  EXPECT_EQ(out.substr(size), std::string(kGuard, kGuardByte))
      << "written beyond the encoded size, for " << data.size() << " bytes";
  out.resize(size);
  return out;
}

TEST(Base64ScalarTest, IsWhatTheApiReturnsWithoutAvx2AndEqualsItWithAvx2) {
  for (std::size_t size : {0u, 1u, 56u, 57u, 58u, 1000u, 100000u}) {
    const std::string data = Bytes(size, 11);
    const std::string encoded = EncodeWith(EncodeScalar, data);
    EXPECT_EQ(encoded, Base64Encode(data)) << size;
    absl::StatusOr<std::string> decoded = DecodeScalar(encoded);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, data) << size;
    EXPECT_EQ(*Base64Decode(encoded), data) << size;
  }
}

TEST(Base64DispatchTest, RunsAvx2ExactlyWhereTheCpuHasIt) {
#if defined(__x86_64__)
  EXPECT_EQ(DispatchesToAvx2(), CpuHasAvx2());
#else
  EXPECT_FALSE(DispatchesToAvx2());
#endif
}

// Base64DecodeInto with the output over the text itself (in place), or
// starting `lead` bytes before it: the same bytes and the same errors as
// decoding into a buffer of its own, for each decoder this CPU runs.
using IntoDecoder = absl::StatusOr<std::size_t> (*)(absl::string_view, char*);
using StringDecoder = absl::StatusOr<std::string> (*)(absl::string_view);

struct DecoderPair {
  const char* name;
  IntoDecoder into;
  StringDecoder apart;
};

std::vector<DecoderPair> DecodersHere() {
  std::vector<DecoderPair> decoders = {{"scalar", DecodeScalarInto, DecodeScalar}};
#if defined(__x86_64__)
  if (CpuHasAvx2()) decoders.push_back({"avx2", DecodeAvx2Into, DecodeAvx2});
#endif
  return decoders;
}

absl::StatusOr<std::string> DecodeInPlace(IntoDecoder decode, absl::string_view text,
                                          std::size_t lead) {
  std::string buffer = absl::StrCat(std::string(lead, '\x5a'), text);
  absl::StatusOr<std::size_t> size = decode(absl::string_view(buffer).substr(lead), buffer.data());
  if (!size.ok()) return size.status();
  EXPECT_LE(*size, text.size());
  return buffer.substr(0, *size);
}

// Returns whether the text decoded.
bool ExpectInPlaceSame(absl::string_view text) {
  bool decoded = false;
  for (const DecoderPair& decoder : DecodersHere()) {
    const absl::StatusOr<std::string> apart = decoder.apart(text);
    decoded = apart.ok();
    for (std::size_t lead : {0u, 1u, 3u, 77u}) {
      const absl::StatusOr<std::string> in_place = DecodeInPlace(decoder.into, text, lead);
      EXPECT_EQ(in_place.status(), apart.status())
          << decoder.name << " lead " << lead << ", " << text.size() << " characters";
      if (in_place.ok() && apart.ok()) {
        EXPECT_TRUE(*in_place == *apart)
            << decoder.name << " lead " << lead << ", " << text.size() << " characters";
      }
    }
  }
  return decoded;
}

TEST(Base64InPlaceTest, EveryLengthUpTo300InEveryLineForm) {
  for (std::size_t size = 0; size <= 300; ++size) {
    const std::string data = Bytes(size, static_cast<std::uint32_t>(size) + 500);
    const std::string crlf = EncodeWith(EncodeScalar, data);
    for (const std::string& text :
         {crlf, absl::StrReplaceAll(crlf, {{"\r\n", "\n"}}),
          absl::StrReplaceAll(crlf, {{"\r\n", ""}}), absl::StrReplaceAll(crlf, {{"\r\n", " "}})}) {
      EXPECT_TRUE(ExpectInPlaceSame(text)) << size;
      // And the bytes are the data, not only what the other call gives.
      for (const DecoderPair& decoder : DecodersHere()) {
        EXPECT_EQ(DecodeInPlace(decoder.into, text, 0).value_or("?"), data) << size;
      }
    }
  }
}

TEST(Base64InPlaceTest, EveryLineWidthAndEveryLineBreakPosition) {
  const std::string data = Bytes(600, 21);
  const std::string unbroken = absl::StrReplaceAll(EncodeWith(EncodeScalar, data), {{"\r\n", ""}});
  for (std::size_t width = 1; width <= 160; ++width) {
    for (absl::string_view line_break : {"\r\n", "\n"}) {
      const std::string text = Wrapped(unbroken, width, line_break);
      EXPECT_TRUE(ExpectInPlaceSame(text)) << width;
    }
  }
  // One break anywhere in three lines' worth, which moves the kernels off
  // their lines.
  const std::string lines = EncodeWith(EncodeScalar, Bytes(3 * kBytesPerLine, 4));
  for (std::size_t at = 0; at <= lines.size(); ++at) {
    for (absl::string_view inserted : {"\r\n", "\n", " "}) {
      EXPECT_TRUE(ExpectInPlaceSame(absl::StrCat(lines.substr(0, at), inserted, lines.substr(at))))
          << at;
    }
  }
}

TEST(Base64InPlaceTest, PaddingAndErrorsAsApart) {
  for (std::size_t lines : {0u, 1u, 3u}) {
    const std::string body = EncodeWith(EncodeScalar, Bytes(lines * kBytesPerLine, 3));
    for (absl::string_view ending : {"Zg==", "Zm8=", "Zm9v", "Zg= =", "Zg", "Zg===", "Zm8=!",
                                     "Zg==Zg==", "Zm8=\r\nx", "=", "Zm9vY"}) {
      ExpectInPlaceSame(absl::StrCat(body, ending));
      ExpectInPlaceSame(absl::StrCat(body, ending, body));
    }
  }
  const std::string mixed =
      absl::StrCat("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", "=\r\n \t!");
  for (std::uint32_t seed = 0; seed < 3000; ++seed) {
    ExpectInPlaceSame(mime_testing::Drawn(seed % 301, seed, mixed));
  }
}

TEST(Base64InPlaceTest, LargeBodyAsApart) {
  const std::string data = Bytes((std::size_t{4} << 20) + 17, 98);
  const std::string crlf = EncodeWith(EncodeScalar, data);
  for (const DecoderPair& decoder : DecodersHere()) {
    EXPECT_TRUE(DecodeInPlace(decoder.into, crlf, 0).value_or("?") == data) << decoder.name;
  }
  // And the dispatching entry point.
  std::string buffer = crlf;
  absl::StatusOr<std::size_t> size = Base64DecodeInto(buffer, buffer.data());
  ASSERT_TRUE(size.ok()) << size.status();
  buffer.resize(*size);
  EXPECT_TRUE(buffer == data);
}

#if defined(__x86_64__)

using ::signet::cms::mime_testing::Drawn;

constexpr absl::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// A text for a failure message: its size and its first bytes.
std::string Describe(absl::string_view text) {
  return absl::StrCat(text.size(), " characters: \"", absl::CHexEscape(text.substr(0, 200)),
                      text.size() > 200 ? "\"..." : "\"");
}

class Base64Avx2Test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!CpuHasAvx2()) GTEST_SKIP() << "this CPU has no AVX2: only the scalar codec runs here";
  }

  static void ExpectSameEncoding(absl::string_view data) {
    EXPECT_EQ(EncodeWith(EncodeAvx2, data), EncodeWith(EncodeScalar, data))
        << data.size() << " bytes: \"" << absl::CHexEscape(data.substr(0, 100)) << "\"";
  }

  // Both decoders' results: the same status (code and message) and, when
  // it is OK, the same bytes. Returns whether the text decoded.
  static bool ExpectSameDecoding(absl::string_view text) {
    const absl::StatusOr<std::string> avx2 = DecodeAvx2(text);
    const absl::StatusOr<std::string> scalar = DecodeScalar(text);
    EXPECT_EQ(avx2.status(), scalar.status()) << Describe(text);
    if (avx2.ok() && scalar.ok()) {
      EXPECT_EQ(*avx2, *scalar) << Describe(text);
    }
    return scalar.ok();
  }
};

TEST_F(Base64Avx2Test, EncodesEveryLengthUpTo300AsTheScalarCodeDoes) {
  for (std::size_t size = 0; size <= 300; ++size) {
    for (std::uint32_t seed : {1u, 2u, 3u}) {
      ExpectSameEncoding(Bytes(size, seed * 1000 + static_cast<std::uint32_t>(size)));
    }
    ExpectSameEncoding(std::string(size, '\0'));
    ExpectSameEncoding(std::string(size, '\xff'));
  }
}

TEST_F(Base64Avx2Test, EncodesLargeBuffersAsTheScalarCodeDoes) {
  for (std::size_t size : {std::size_t{57} * 1000, std::size_t{57} * 1000 + 1, std::size_t{1} << 20,
                           (std::size_t{16} << 20) + 17}) {
    ExpectSameEncoding(Bytes(size, static_cast<std::uint32_t>(size)));
  }
}

TEST_F(Base64Avx2Test, EncodesEveryByteValueAtEveryPositionOfALine) {
  // Byte p of the k-th buffer is 7p + k (mod 256): over the 256 buffers,
  // every value at every position of three lines and a short one.
  for (int k = 0; k < 256; ++k) {
    std::string data(3 * kBytesPerLine + 20, '\0');
    for (std::size_t p = 0; p < data.size(); ++p) data[p] = static_cast<char>(7 * p + k);
    ExpectSameEncoding(data);
  }
}

TEST_F(Base64Avx2Test, EncodingUsesEveryCharacterOfTheAlphabet) {
  // The 64 values in order, as 48 bytes, at every offset of a line.
  std::string values;
  for (int i = 0; i < 64; i += 4) {
    const std::uint32_t v = (i << 18) | ((i + 1) << 12) | ((i + 2) << 6) | (i + 3);
    values += {static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
  }
  for (std::size_t offset = 0; offset < kBytesPerLine; offset += 3) {
    const std::string data = std::string(offset, 'x') + values + values + values;
    const std::string encoded = EncodeWith(EncodeAvx2, data);
    EXPECT_EQ(encoded, EncodeWith(EncodeScalar, data));
    EXPECT_NE(absl::StrReplaceAll(encoded, {{"\r\n", ""}}).find(std::string(kAlphabet)),
              std::string::npos)
        << offset;
  }
}

TEST_F(Base64Avx2Test, DecodesEveryLengthUpTo300InEveryLineForm) {
  for (std::size_t size = 0; size <= 300; ++size) {
    const std::string data = Bytes(size, static_cast<std::uint32_t>(size) + 7000);
    const std::string crlf = EncodeWith(EncodeScalar, data);
    for (const std::string& text :
         {crlf, absl::StrReplaceAll(crlf, {{"\r\n", "\n"}}),
          absl::StrReplaceAll(crlf, {{"\r\n", ""}}), absl::StrReplaceAll(crlf, {{"\r\n", " "}})}) {
      EXPECT_TRUE(ExpectSameDecoding(text)) << size;
      EXPECT_EQ(*DecodeAvx2(text), data) << size;
    }
  }
}

TEST_F(Base64Avx2Test, DecodesLargeBuffersAsTheScalarCodeDoes) {
  const std::string data = Bytes((std::size_t{16} << 20) + 17, 99);
  const std::string crlf = EncodeWith(EncodeScalar, data);
  absl::StatusOr<std::string> decoded = DecodeAvx2(crlf);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(*decoded == data);
  decoded = DecodeAvx2(absl::StrReplaceAll(crlf, {{"\r\n", "\n"}}));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(*decoded == data);
  // Damage at a few places of a 1 MiB body, one at a time.
  const std::string small = EncodeWith(EncodeScalar, Bytes(std::size_t{1} << 20, 5));
  std::uint32_t seed = 17;
  for (int n = 0; n < 12; ++n) {
    seed = seed * 1664525u + 1013904223u;
    std::string text = small;
    const std::size_t at = seed % text.size();
    text[at] = "=!\n \0\x80-_"[n % 8];
    EXPECT_EQ(DecodeAvx2(text).status(), DecodeScalar(text).status()) << at;
  }
}

TEST_F(Base64Avx2Test, EveryByteValueAtEveryPositionOfTheFirstLines) {
  // Three whole lines and a short one; each of the first two lines and the
  // third's start takes every byte value at every position (a character,
  // the CR, the LF): invalid bytes at every position of each 32-character
  // block, '=' and whitespace everywhere, broken line breaks.
  const std::string encoded = EncodeWith(EncodeScalar, Bytes(3 * kBytesPerLine + 20, 4));
  std::size_t ok = 0;
  std::size_t refused = 0;
  for (std::size_t at = 0; at < 2 * (kCharsPerLine + 2) + 40; ++at) {
    for (int value = 0; value < 256; ++value) {
      std::string text = encoded;
      text[at] = static_cast<char>(value);
      (ExpectSameDecoding(text) ? ok : refused) += 1;
    }
  }
  // Both outcomes were exercised (a check that the mutations reached the
  // rules, not only the kernels).
  EXPECT_GT(ok, 1000u);
  EXPECT_GT(refused, 1000u);
}

TEST_F(Base64Avx2Test, LineBreaksAtEveryPosition) {
  const std::string data = Bytes(300, 8);
  const std::string unbroken = absl::StrReplaceAll(EncodeWith(EncodeScalar, data), {{"\r\n", ""}});
  for (absl::string_view line_break : {"\r\n", "\n", "\r", "\r\r\n", "\n\r"}) {
    for (std::size_t at = 0; at <= unbroken.size(); ++at) {
      const std::string text =
          absl::StrCat(unbroken.substr(0, at), line_break, unbroken.substr(at));
      EXPECT_TRUE(ExpectSameDecoding(text)) << at;
    }
  }
  // Two line breaks, at every pair of positions in the first 130 characters.
  for (std::size_t first = 0; first <= 130; ++first) {
    for (std::size_t second = first; second <= 130; ++second) {
      const std::string text =
          absl::StrCat(unbroken.substr(0, first), "\r\n", unbroken.substr(first, second - first),
                       "\n", unbroken.substr(second));
      EXPECT_TRUE(ExpectSameDecoding(text)) << first << " " << second;
    }
  }
}

TEST_F(Base64Avx2Test, EveryLineWidth) {
  const std::string data = Bytes(1000, 12);
  const std::string unbroken = absl::StrReplaceAll(EncodeWith(EncodeScalar, data), {{"\r\n", ""}});
  for (std::size_t width = 1; width <= 160; ++width) {
    for (absl::string_view line_break : {"\r\n", "\n"}) {
      const std::string text = Wrapped(unbroken, width, line_break);
      EXPECT_TRUE(ExpectSameDecoding(text)) << width;
      EXPECT_EQ(*DecodeAvx2(text), data) << width;
    }
  }
}

TEST_F(Base64Avx2Test, PaddingFormsAfterWholeLines) {
  const std::vector<std::string> endings = {
      "Zg==", "Zm8=", "Zm9v", "Zg=\r\n=", "Zg= =", "Zg==\r\n", "Zm8=\r\n\r\n", "Zg== \t",
      // Refused, each for its reason.
      "Zg", "Zg=", "Zm9vY", "=", "Z===", "====", "Zg===", "Zm8==", "Zg==Zg==", "Zm8=\r\nx", "Zm8=!",
      "Zg==\r\nZm9v"};
  for (std::size_t lines : {0u, 1u, 2u, 5u}) {
    const std::string body = EncodeWith(EncodeScalar, Bytes(lines * kBytesPerLine, 3));
    for (const std::string& ending : endings) {
      ExpectSameDecoding(body + ending);
      // A whole line after the padding, which the kernels would take.
      ExpectSameDecoding(body + ending + body);
    }
  }
  // The errors name the offset in the whole text, past the kernels' lines.
  const std::string body = EncodeWith(EncodeScalar, Bytes(2 * kBytesPerLine, 3));
  EXPECT_EQ(DecodeAvx2(body + "Zg==Zg==").status(),
            absl::InvalidArgumentError(
                absl::StrCat("base64: data after '=' padding at offset ", body.size() + 4)));
  EXPECT_EQ(DecodeAvx2(body + "Zm8==").status(),
            absl::InvalidArgumentError(
                absl::StrCat("base64: too much '=' padding at offset ", body.size() + 4)));
  EXPECT_EQ(DecodeAvx2(body + "Zg=" + body).status(),
            absl::InvalidArgumentError(
                absl::StrCat("base64: data after '=' padding at offset ", body.size() + 3)));
}

TEST_F(Base64Avx2Test, WhitespaceTheScalarCodeAcceptsAndRefuses) {
  const std::string encoded = EncodeWith(EncodeScalar, Bytes(2 * kBytesPerLine + 30, 6));
  for (absl::string_view inserted : {" ", "\t", "\r", "\n", "  ", "\f", "\v", "\r\r\n", "\x85"}) {
    const bool accepted = inserted.find_first_not_of(" \t\r\n") == absl::string_view::npos;
    for (std::size_t at = 0; at <= encoded.size(); ++at) {
      const std::string text = absl::StrCat(encoded.substr(0, at), inserted, encoded.substr(at));
      EXPECT_EQ(ExpectSameDecoding(text), accepted) << absl::CHexEscape(inserted) << " at " << at;
    }
  }
}

TEST_F(Base64Avx2Test, DrawnTextErrorsIncluded) {
  // Mostly alphabet, so that 32-character blocks and whole lines occur, with
  // padding, whitespace and refused bytes among them.
  const std::string mostly_alphabet = absl::StrCat(kAlphabet, kAlphabet, "=\r\n \t!");
  for (std::uint32_t seed = 0; seed < 20000; ++seed) {
    ExpectSameDecoding(Drawn(seed % 301, seed, "QUJDRA=  =\r\n\t!"));
    ExpectSameDecoding(Drawn(seed % 301, seed, mostly_alphabet));
  }
  // Whole lines with one drawn line among them.
  const std::string line = EncodeWith(EncodeScalar, Bytes(kBytesPerLine, 1));
  for (std::uint32_t seed = 0; seed < 5000; ++seed) {
    ExpectSameDecoding(absl::StrCat(line, line, Drawn(78, seed, mostly_alphabet), line));
  }
}

TEST_F(Base64Avx2Test, BulkStepWritesOnlyWhatItReports) {
  for (std::size_t size : {0u, 31u, 32u, 76u, 77u, 78u, 300u, 5000u}) {
    for (const std::string& text :
         {EncodeWith(EncodeScalar, Bytes(size, 2)),
          absl::StrReplaceAll(EncodeWith(EncodeScalar, Bytes(size, 2)), {{"\r\n", ""}})}) {
      std::string out(text.size() + kGuard, kGuardByte);
      const Decoded decoded = DecodeQuantaAvx2(reinterpret_cast<const unsigned char*>(text.data()),
                                               text.size(), out.data());
      EXPECT_LE(decoded.consumed, text.size());
      EXPECT_LE(decoded.written, decoded.consumed / 4 * 3) << size;
      EXPECT_EQ(out.substr(decoded.written), std::string(out.size() - decoded.written, kGuardByte))
          << size;
      // The step takes everything but the padded last quantum.
      EXPECT_GE(decoded.consumed + 6, text.size()) << size;
    }
  }
}

#endif  // defined(__x86_64__)

}  // namespace
}  // namespace signet::cms::base64_internal
