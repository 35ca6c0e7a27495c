// The two encodings a signature depends on: CRLF canonical form and base64.
// Base64 has a scalar implementation here and AVX2 kernels in
// base64_avx2.cc; the first call picks one for the process's life.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "appliance/cms/base64_internal.h"
#include "appliance/cms/mime.h"
#include "appliance/cms/mime_internal.h"
#include "common/huge_pages.h"

namespace signet::cms {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
using base64_internal::kBytesPerLine;

// The 6-bit value of a base64 character, or -1.
int Sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Sextet() as a table; 0xff for every byte outside the alphabet.
constexpr std::array<std::uint8_t, 256> MakeSextets() {
  std::array<std::uint8_t, 256> table{};
  for (std::uint8_t& entry : table) entry = 0xff;
  for (int i = 0; i < 64; ++i)
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::uint8_t>(i);
  return table;
}
constexpr std::array<std::uint8_t, 256> kSextets = MakeSextets();

bool IsIgnored(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

absl::Status Error(absl::string_view what, std::size_t offset) {
  return absl::InvalidArgumentError(absl::StrFormat("base64: %s at offset %d", what, offset));
}

// The decoder's rules, character by character, with the bulk of the text
// (whole quanta of alphabet characters) taken by `Bulk` wherever no quantum
// is open and no padding was seen.
//
// Writes the bytes at `begin`, which has room for
// Base64DecodedBound(text.size()) of them. `begin` may be text.data()
// itself (decoding in place): every write lands at or before the
// characters already read, since a quantum's 3 bytes are written only once
// its 4 characters are (the bulk steps load their characters before they
// store, and write at most 3 bytes per 4 consumed). Returns how many bytes
// it wrote.
template <base64_internal::Decoded (*Bulk)(const unsigned char*, std::size_t, char*)>
absl::StatusOr<std::size_t> DecodeInto(absl::string_view text, char* const begin) {
  char* dst = begin;
  const auto* src = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t size = text.size();
  std::uint32_t bits = 0;
  int in_quantum = 0;  // characters of the current 4-character quantum
  int pad_needed = 0;  // '=' the last quantum needs, once padding began
  int pad_seen = 0;
  std::size_t i = 0;
  while (i < size) {
    if (in_quantum == 0 && pad_seen == 0) {
      // Whole quanta of alphabet characters, the bulk of any body, many at
      // a time; anything else goes through the rules below.
      const base64_internal::Decoded bulk = Bulk(src + i, size - i, dst);
      i += bulk.consumed;
      dst += bulk.written;
      if (i >= size) break;
    }
    const char c = text[i];
    if (IsIgnored(c)) {
      ++i;
      continue;
    }
    if (c == '=') {
      if (pad_seen == 0) {
        if (in_quantum < 2) return Error("'=' where a quantum has fewer than 2 characters", i);
        pad_needed = 4 - in_quantum;
      }
      if (++pad_seen > pad_needed) return Error("too much '=' padding", i);
      ++i;
      continue;
    }
    const int v = Sextet(c);
    if (v < 0) {
      return Error(
          absl::StrFormat("byte 0x%02x outside the base64 alphabet", static_cast<unsigned char>(c)),
          i);
    }
    if (pad_seen > 0) return Error("data after '=' padding", i);
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    if (++in_quantum == 4) {
      dst[0] = static_cast<char>((bits >> 16) & 0xff);
      dst[1] = static_cast<char>((bits >> 8) & 0xff);
      dst[2] = static_cast<char>(bits & 0xff);
      dst += 3;
      bits = 0;
      in_quantum = 0;
    }
    ++i;
  }
  if (pad_seen > 0) {
    if (pad_seen < pad_needed) return Error("incomplete '=' padding", text.size());
    if (in_quantum == 2) {
      *dst++ = static_cast<char>((bits >> 4) & 0xff);
    } else {
      dst[0] = static_cast<char>((bits >> 10) & 0xff);
      dst[1] = static_cast<char>((bits >> 2) & 0xff);
      dst += 2;
    }
  } else if (in_quantum != 0) {
    return Error(absl::StrFormat("last quantum has %d characters, '=' padding missing", in_quantum),
                 text.size());
  }
  return static_cast<std::size_t>(dst - begin);
}

template <base64_internal::Decoded (*Bulk)(const unsigned char*, std::size_t, char*)>
absl::StatusOr<std::string> DecodeWith(absl::string_view text) {
  std::string out;
  // Written in place and cut to size at the end.
  ReserveLarge(&out, Base64DecodedBound(text.size()));
  out.resize(Base64DecodedBound(text.size()));
  absl::StatusOr<std::size_t> size = DecodeInto<Bulk>(text, out.data());
  if (!size.ok()) return size.status();
  out.resize(*size);
  return out;
}

}  // namespace

std::size_t Base64DecodedBound(std::size_t size) { return size / 4 * 3 + 3; }

std::size_t Base64EncodedSize(std::size_t size) {
  const std::size_t lines = (size + kBytesPerLine - 1) / kBytesPerLine;
  return (size + 2) / 3 * 4 + 2 * lines;
}

std::size_t CountLineFeeds(absl::string_view text) {
  // Eight bytes at a time: a byte of t = w ^ LFs is zero exactly where w
  // has a LF, and the high bit of ((t & 0x7f..) + 0x7f..) | t is clear
  // exactly for a zero byte of t.
  constexpr std::uint64_t kLineFeeds = 0x0a0a0a0a0a0a0a0a;
  constexpr std::uint64_t kLow7 = 0x7f7f7f7f7f7f7f7f;
  std::size_t count = 0;
  std::size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, text.data() + i, sizeof w);
    const std::uint64_t t = w ^ kLineFeeds;
    const std::uint64_t high_clear_where_zero = ((t & kLow7) + kLow7) | t;
    // One bit per LF byte, at bit 0 of its byte; the multiplication sums
    // the bytes into the top one (no popcount: without -mpopcnt it is a
    // libgcc call per word).
    const std::uint64_t ones = (~high_clear_where_zero & ~kLow7) >> 7;
    count += static_cast<std::size_t>((ones * 0x0101010101010101) >> 56);
  }
  for (; i < text.size(); ++i) count += text[i] == '\n';
  return count;
}

namespace {

#if defined(__x86_64__)
// CountBareLineFeeds over whole 32-byte blocks, with AVX2: a LF is bare
// where the byte before it (in the block, or the last of the block before)
// is not a CR. Sets `*done` to the bytes counted.
__attribute__((target("avx2,popcnt"))) std::size_t CountBareLineFeedsAvx2(absl::string_view text,
                                                                          std::size_t* done) {
  const __m256i line_feed = _mm256_set1_epi8('\n');
  const __m256i carriage_return = _mm256_set1_epi8('\r');
  std::size_t count = 0;
  std::uint32_t carried = 0;  // 1 when the byte before this block is a CR
  std::size_t i = 0;
  for (; i + 32 <= text.size(); i += 32) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(text.data() + i));
    const auto line_feeds =
        static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, line_feed)));
    const auto returns =
        static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, carriage_return)));
    count += static_cast<std::size_t>(__builtin_popcount(line_feeds & ~((returns << 1) | carried)));
    carried = returns >> 31;
  }
  *done = i;
  return count;
}
#endif

std::size_t CountBareLineFeedsFrom(absl::string_view text, std::size_t i, std::size_t count) {
  // As CountLineFeeds, with the CRs' high bits moved one byte up (and the
  // last byte's of the word before carried in) masking the LFs they precede.
  constexpr std::uint64_t kLineFeeds = 0x0a0a0a0a0a0a0a0a;
  constexpr std::uint64_t kReturns = 0x0d0d0d0d0d0d0d0d;
  constexpr std::uint64_t kLow7 = 0x7f7f7f7f7f7f7f7f;
  auto zero_bytes = [](std::uint64_t t) { return ~(((t & kLow7) + kLow7) | t) & ~kLow7; };
#if defined(__SSE2__)
  // Sixteen bytes at a time where the CPU has SSE2 (every x86-64): a block
  // without a LF, most of them, costs two compares.
  const __m128i line_feed = _mm_set1_epi8('\n');
  const __m128i carriage_return = _mm_set1_epi8('\r');
  // 1 when the byte before this block is a CR.
  unsigned carried = i > 0 && text[i - 1] == '\r' ? 1 : 0;
  for (; i + 16 <= text.size(); i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + i));
    const auto line_feeds = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, line_feed)));
    const auto returns =
        static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, carriage_return)));
    for (unsigned bare = line_feeds & ~((returns << 1) | carried); bare != 0; bare &= bare - 1) {
      ++count;
    }
    carried = returns >> 15;
  }
#endif
  // 0x80 when the byte before this word is a CR.
  std::uint64_t carried_return = i > 0 && text[i - 1] == '\r' ? 0x80 : 0;
  for (; i + 8 <= text.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, text.data() + i, sizeof w);
    const std::uint64_t line_feeds = zero_bytes(w ^ kLineFeeds);
    const std::uint64_t returns = zero_bytes(w ^ kReturns);
    const std::uint64_t bare = line_feeds & ~((returns << 8) | carried_return);
    count += static_cast<std::size_t>(((bare >> 7) * 0x0101010101010101) >> 56);
    carried_return = returns >> 56;
  }
  for (; i < text.size(); ++i) {
    count += text[i] == '\n' && (i == 0 || text[i - 1] != '\r');
  }
  return count;
}

}  // namespace

std::size_t CountBareLineFeeds(absl::string_view text) {
#if defined(__x86_64__)
  if (base64_internal::CpuHasAvx2()) {
    std::size_t done = 0;
    const std::size_t count = CountBareLineFeedsAvx2(text, &done);
    return CountBareLineFeedsFrom(text, done, count);
  }
#endif
  return CountBareLineFeedsFrom(text, 0, 0);
}

namespace mime_internal {

std::size_t CountBareLineFeedsWithoutAvx2(absl::string_view text) {
  return CountBareLineFeedsFrom(text, 0, 0);
}

}  // namespace mime_internal

void AppendCrlf(absl::string_view text, std::string* out) {
  // Room for exactly the CRs to add; text that needs none (a mail as SMTP
  // carries it) is copied whole. Otherwise whole runs between bare line
  // feeds are copied at once, so the canonical form of a large mail is made
  // at memory speed, not a byte at a time.
  const std::size_t bare = CountBareLineFeeds(text);
  ReserveLarge(out, out->size() + text.size() + bare);
  if (bare == 0) {
    out->append(text.data(), text.size());
    return;
  }
  std::size_t begin = 0;
  for (std::size_t lf = text.find('\n'); lf != absl::string_view::npos;
       lf = text.find('\n', lf + 1)) {
    if (lf > 0 && text[lf - 1] == '\r') continue;
    out->append(text.data() + begin, lf - begin);
    out->append("\r\n", 2);
    begin = lf + 1;
  }
  out->append(text.data() + begin, text.size() - begin);
}

std::string ToCrlf(absl::string_view text) {
  std::string out;
  AppendCrlf(text, &out);
  return out;
}

namespace base64_internal {

void EncodeScalar(const unsigned char* src, std::size_t size, char* dst) {
  std::size_t left = size;
  while (left > 0) {
    const std::size_t chunk = left < kBytesPerLine ? left : kBytesPerLine;
    const unsigned char* const end = src + chunk / 3 * 3;
    for (; src < end; src += 3) {
      const std::uint32_t v = (std::uint32_t{src[0]} << 16) | (std::uint32_t{src[1]} << 8) | src[2];
      dst[0] = kAlphabet[(v >> 18) & 63];
      dst[1] = kAlphabet[(v >> 12) & 63];
      dst[2] = kAlphabet[(v >> 6) & 63];
      dst[3] = kAlphabet[v & 63];
      dst += 4;
    }
    if (chunk % 3 == 1) {
      const std::uint32_t v = std::uint32_t{src[0]} << 16;
      dst[0] = kAlphabet[(v >> 18) & 63];
      dst[1] = kAlphabet[(v >> 12) & 63];
      dst[2] = '=';
      dst[3] = '=';
      dst += 4;
      src += 1;
    } else if (chunk % 3 == 2) {
      const std::uint32_t v = (std::uint32_t{src[0]} << 16) | (std::uint32_t{src[1]} << 8);
      dst[0] = kAlphabet[(v >> 18) & 63];
      dst[1] = kAlphabet[(v >> 12) & 63];
      dst[2] = kAlphabet[(v >> 6) & 63];
      dst[3] = '=';
      dst += 4;
      src += 2;
    }
    dst[0] = '\r';
    dst[1] = '\n';
    dst += 2;
    left -= chunk;
  }
}

Decoded DecodeQuantaScalar(const unsigned char* src, std::size_t size, char* dst) {
  std::size_t i = 0;
  char* out = dst;
  for (; i + 4 <= size; i += 4) {
    const std::uint32_t a = kSextets[src[i]];
    const std::uint32_t b = kSextets[src[i + 1]];
    const std::uint32_t c = kSextets[src[i + 2]];
    const std::uint32_t d = kSextets[src[i + 3]];
    if ((a | b | c | d) & ~std::uint32_t{63}) break;
    const std::uint32_t v = (a << 18) | (b << 12) | (c << 6) | d;
    out[0] = static_cast<char>((v >> 16) & 0xff);
    out[1] = static_cast<char>((v >> 8) & 0xff);
    out[2] = static_cast<char>(v & 0xff);
    out += 3;
  }
  return {i, static_cast<std::size_t>(out - dst)};
}

absl::StatusOr<std::string> DecodeScalar(absl::string_view text) {
  return DecodeWith<DecodeQuantaScalar>(text);
}

absl::StatusOr<std::size_t> DecodeScalarInto(absl::string_view text, char* out) {
  return DecodeInto<DecodeQuantaScalar>(text, out);
}

#if defined(__x86_64__)
absl::StatusOr<std::string> DecodeAvx2(absl::string_view text) {
  return DecodeWith<DecodeQuantaAvx2>(text);
}

absl::StatusOr<std::size_t> DecodeAvx2Into(absl::string_view text, char* out) {
  return DecodeInto<DecodeQuantaAvx2>(text, out);
}
#endif

}  // namespace base64_internal

namespace {

struct Base64Codec {
  void (*encode)(const unsigned char* src, std::size_t size, char* dst);
  absl::StatusOr<std::string> (*decode)(absl::string_view text);
  absl::StatusOr<std::size_t> (*decode_into)(absl::string_view text, char* out);
};

// AVX2 where the CPU has it (about three times the scalar code's speed on
// a large body; docs/performance.md), the scalar code everywhere else;
// chosen once.
const Base64Codec& ChosenCodec() {
  static const Base64Codec codec = [] {
#if defined(__x86_64__)
    if (base64_internal::CpuHasAvx2()) {
      return Base64Codec{base64_internal::EncodeAvx2, base64_internal::DecodeAvx2,
                         base64_internal::DecodeAvx2Into};
    }
#endif
    return Base64Codec{base64_internal::EncodeScalar, base64_internal::DecodeScalar,
                       base64_internal::DecodeScalarInto};
  }();
  return codec;
}

}  // namespace

bool base64_internal::DispatchesToAvx2() {
#if defined(__x86_64__)
  return ChosenCodec().decode == base64_internal::DecodeAvx2;
#else
  return false;
#endif
}

void AppendBase64(absl::string_view data, std::string* out) {
  const std::size_t start = out->size();
  // Written in place: one allocation, no per-character bounds checks.
  ReserveLarge(out, start + Base64EncodedSize(data.size()));
  out->resize(start + Base64EncodedSize(data.size()));
  ChosenCodec().encode(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                       out->data() + start);
}

std::string Base64Encode(absl::string_view data) {
  std::string out;
  AppendBase64(data, &out);
  return out;
}

absl::StatusOr<std::string> Base64Decode(absl::string_view text) {
  return ChosenCodec().decode(text);
}

absl::StatusOr<std::size_t> Base64DecodeInto(absl::string_view text, char* out) {
  return ChosenCodec().decode_into(text, out);
}

}  // namespace signet::cms
