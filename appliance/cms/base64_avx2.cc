// The AVX2 kernels of the base64 codec (base64_internal.h), after Muła and
// Lemire ("Faster Base64 Encoding and Decoding Using AVX2 Instructions",
// 2018): 24 bytes become 32 characters, and 32 characters are validated and
// become 24 bytes, a few instructions each. Compiled for AVX2 function by
// function (the build targets the x86-64 baseline); mime_encoding.cc calls
// them only where CpuHasAvx2(). Everything the kernels do not take (short
// lines, padding, whitespace, errors) goes to the scalar code, so results
// and errors are the scalar code's.
#include "appliance/cms/base64_internal.h"

#if defined(__x86_64__)

#include <immintrin.h>

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

#define SIGNET_AVX2 __attribute__((target("avx2")))

namespace signet::cms::base64_internal {
namespace {

// The 32 6-bit values of the 24 bytes at src, one a byte, in the order of
// their characters. Reads exactly src[0, 24): lane 0 takes bytes 0-11 at its
// offset 0, lane 1 bytes 12-23 at its offset 4.
SIGNET_AVX2 inline __m256i Sextets(const unsigned char* src) {
  const __m256i in = _mm256_inserti128_si256(
      _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src))),
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 8)), 1);
  // Each group of 3 bytes a b c as the 16-bit words (a b) and (b c), so that
  // every 6-bit value lies inside one word.
  const __m256i words = _mm256_shuffle_epi8(
      in, _mm256_setr_epi8(1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10,  //
                           5, 4, 6, 5, 8, 7, 9, 8, 11, 10, 12, 11, 14, 13, 15, 14));
  // The first and third values shifted down to their bytes (the high half
  // of a product), the second and fourth shifted up (the low half).
  const __m256i first_third = _mm256_mulhi_epu16(
      _mm256_and_si256(words, _mm256_set1_epi32(0x0fc0fc00)), _mm256_set1_epi32(0x04000040));
  const __m256i second_fourth = _mm256_mullo_epi16(
      _mm256_and_si256(words, _mm256_set1_epi32(0x003f03f0)), _mm256_set1_epi32(0x01000010));
  return _mm256_or_si256(first_third, second_fourth);
}

// The characters of 32 6-bit values: each value plus the offset of its
// range of the alphabet (A-Z, a-z, 0-9, '+', '/'), looked up by range.
SIGNET_AVX2 inline __m256i Characters(__m256i sextets) {
  const __m256i offsets =
      _mm256_setr_epi8('A', 'a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
                       '0' - 52, '0' - 52, '0' - 52, '0' - 52, '+' - 62, '/' - 63, 0, 0,  //
                       'A', 'a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
                       '0' - 52, '0' - 52, '0' - 52, '0' - 52, '+' - 62, '/' - 63, 0, 0);
  // 0 for A-Z, 1 for a-z, 2-11 for the digits, 12 and 13 for '+' and '/'.
  __m256i range = _mm256_subs_epu8(sextets, _mm256_set1_epi8(51));
  range = _mm256_sub_epi8(range, _mm256_cmpgt_epi8(sextets, _mm256_set1_epi8(25)));
  return _mm256_add_epi8(sextets, _mm256_shuffle_epi8(offsets, range));
}

SIGNET_AVX2 inline void EncodeBlock(const unsigned char* src, char* dst) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), Characters(Sextets(src)));
}

// One whole line: 57 bytes as blocks of 24 at 0, 24 and 33 (the last
// overlapping the second by 15 bytes, which are written twice, the same),
// then CRLF.
SIGNET_AVX2 inline void EncodeLine(const unsigned char* src, char* dst) {
  EncodeBlock(src, dst);
  EncodeBlock(src + 24, dst + 32);
  EncodeBlock(src + 33, dst + 44);
  dst[kCharsPerLine] = '\r';
  dst[kCharsPerLine + 1] = '\n';
}

struct Translated {
  __m256i sextets;
  // Nonzero in the bytes whose character is outside the alphabet.
  __m256i invalid;
};

// 32 characters' 6-bit values, and which of them are outside the alphabet:
// the characters are classified by their high nibble (lut_high, one bit per
// class) and their low nibble (lut_low, the classes in which that low nibble
// is not in the alphabet); a byte whose two lookups share a bit is invalid.
// Bytes from 0x80 up have high nibbles 8-f, a class of their own that every
// low nibble refuses.
SIGNET_AVX2 inline Translated Translate(__m256i chars) {
  const __m256i lut_low = _mm256_setr_epi8(0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                           0x11, 0x13, 0x1a, 0x1b, 0x1b, 0x1b, 0x1a,  //
                                           0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                           0x11, 0x13, 0x1a, 0x1b, 0x1b, 0x1b, 0x1a);
  const __m256i lut_high = _mm256_setr_epi8(0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10,
                                            0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10,  //
                                            0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10,
                                            0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10);
  // What to add to a valid character, by its high nibble ('/' shares '+''s
  // nibble and is told apart by index 1).
  const __m256i lut_shift = _mm256_setr_epi8(
      0, 63 - '/', 62 - '+', 52 - '0', -'A', -'A', 26 - 'a', 26 - 'a', 0, 0, 0, 0, 0, 0, 0, 0,  //
      0, 63 - '/', 62 - '+', 52 - '0', -'A', -'A', 26 - 'a', 26 - 'a', 0, 0, 0, 0, 0, 0, 0, 0);
  // 0x2f keeps the nibble and clears bit 7, which would make pshufb give 0.
  const __m256i slash = _mm256_set1_epi8('/');
  const __m256i high = _mm256_and_si256(_mm256_srli_epi32(chars, 4), slash);
  const __m256i low = _mm256_and_si256(chars, slash);
  const __m256i invalid =
      _mm256_and_si256(_mm256_shuffle_epi8(lut_low, low), _mm256_shuffle_epi8(lut_high, high));
  const __m256i shift =
      _mm256_shuffle_epi8(lut_shift, _mm256_add_epi8(_mm256_cmpeq_epi8(chars, slash), high));
  return {_mm256_add_epi8(chars, shift), invalid};
}

// 32 6-bit values as 24 bytes at dst, written exactly (no byte beyond).
SIGNET_AVX2 inline void Pack(__m256i sextets, char* dst) {
  // Pairs of values into 12 bits, pairs of those into 24 (a 32-bit word a
  // quantum), then each lane's three bytes a word into its first 12, and the
  // lanes' 12 together.
  const __m256i pairs = _mm256_maddubs_epi16(sextets, _mm256_set1_epi32(0x01400140));
  const __m256i quanta = _mm256_madd_epi16(pairs, _mm256_set1_epi32(0x00011000));
  const __m256i bytes = _mm256_shuffle_epi8(
      quanta, _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1,  //
                               2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1));
  const __m256i packed =
      _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 3, 7));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm256_castsi256_si128(packed));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(dst + 16), _mm256_extracti128_si256(packed, 1));
}

SIGNET_AVX2 inline __m256i Load(const unsigned char* src) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src));
}

}  // namespace

bool CpuHasAvx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
}

SIGNET_AVX2 void EncodeAvx2(const unsigned char* src, std::size_t size, char* dst) {
  for (; size >= kBytesPerLine; size -= kBytesPerLine) {
    EncodeLine(src, dst);
    src += kBytesPerLine;
    dst += kCharsPerLine + 2;
  }
  // The last line, shorter than 57 bytes, as the scalar code writes it.
  EncodeScalar(src, size, dst);
}

SIGNET_AVX2 Decoded DecodeQuantaAvx2(const unsigned char* src, std::size_t size, char* dst) {
  std::size_t i = 0;
  char* out = dst;
  for (;;) {
    // A line as Base64Encode writes it: 76 characters (19 quanta) and CRLF,
    // or LF. The line break is checked first: it is one byte, and tells
    // unbroken text from lines.
    std::size_t line_break = 0;
    if (i + kCharsPerLine < size) {
      if (src[i + kCharsPerLine] == '\n') {
        line_break = 1;
      } else if (src[i + kCharsPerLine] == '\r' && i + kCharsPerLine + 1 < size &&
                 src[i + kCharsPerLine + 1] == '\n') {
        line_break = 2;
      }
    }
    if (line_break != 0) {
      // Characters 0-31, 32-63 and 44-75 (the last block overlaps the
      // second; their common bytes are written twice, the same).
      const Translated a = Translate(Load(src + i));
      const Translated b = Translate(Load(src + i + 32));
      const Translated c = Translate(Load(src + i + 44));
      const __m256i invalid = _mm256_or_si256(_mm256_or_si256(a.invalid, b.invalid), c.invalid);
      if (_mm256_testz_si256(invalid, invalid)) {
        Pack(a.sextets, out);
        Pack(b.sextets, out + 24);
        Pack(c.sextets, out + 33);
        out += kBytesPerLine;
        i += kCharsPerLine + line_break;
        continue;
      }
    }
    if (i + 32 <= size) {
      const Translated block = Translate(Load(src + i));
      if (_mm256_testz_si256(block.invalid, block.invalid)) {
        Pack(block.sextets, out);
        out += 24;
        i += 32;
        continue;
      }
    }
    // Fewer than 32 alphabet characters before something else: the quanta
    // among them one by one, then a line break between quanta stepped over
    // (the rules ignore it there) and the kernels tried again; anything
    // else is left to the rules.
    const Decoded rest = DecodeQuantaScalar(src + i, size - i, out);
    i += rest.consumed;
    out += rest.written;
    if (i < size && src[i] == '\n') {
      i += 1;
    } else if (i + 1 < size && src[i] == '\r' && src[i + 1] == '\n') {
      i += 2;
    } else {
      break;
    }
  }
  return {i, static_cast<std::size_t>(out - dst)};
}

}  // namespace signet::cms::base64_internal

#endif  // defined(__x86_64__)
