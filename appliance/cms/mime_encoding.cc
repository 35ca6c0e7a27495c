// The two encodings a signature depends on: CRLF canonical form and base64.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "appliance/cms/mime.h"

namespace signet::cms {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
// 76 characters per line (RFC 2045 §6.8) are 19 groups of 3 input bytes.
constexpr std::size_t kBytesPerLine = 57;

// The 6-bit value of a base64 character, or -1.
int Sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool IsIgnored(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

absl::Status Error(absl::string_view what, std::size_t offset) {
  return absl::InvalidArgumentError(absl::StrFormat("base64: %s at offset %d", what, offset));
}

}  // namespace

std::string ToCrlf(absl::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 16);
  char previous = '\0';
  for (char c : text) {
    if (c == '\n' && previous != '\r') out.push_back('\r');
    out.push_back(c);
    previous = c;
  }
  return out;
}

std::string Base64Encode(absl::string_view data) {
  const std::size_t lines = (data.size() + kBytesPerLine - 1) / kBytesPerLine;
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4 + 2 * lines);
  for (std::size_t line = 0; line < data.size(); line += kBytesPerLine) {
    const absl::string_view chunk = data.substr(line, kBytesPerLine);
    std::size_t i = 0;
    for (; i + 3 <= chunk.size(); i += 3) {
      const std::uint32_t v = (static_cast<unsigned char>(chunk[i]) << 16) |
                              (static_cast<unsigned char>(chunk[i + 1]) << 8) |
                              static_cast<unsigned char>(chunk[i + 2]);
      out.push_back(kAlphabet[(v >> 18) & 63]);
      out.push_back(kAlphabet[(v >> 12) & 63]);
      out.push_back(kAlphabet[(v >> 6) & 63]);
      out.push_back(kAlphabet[v & 63]);
    }
    if (i + 1 == chunk.size()) {
      const std::uint32_t v = static_cast<unsigned char>(chunk[i]) << 16;
      out.push_back(kAlphabet[(v >> 18) & 63]);
      out.push_back(kAlphabet[(v >> 12) & 63]);
      out.append("==");
    } else if (i + 2 == chunk.size()) {
      const std::uint32_t v = (static_cast<unsigned char>(chunk[i]) << 16) |
                              (static_cast<unsigned char>(chunk[i + 1]) << 8);
      out.push_back(kAlphabet[(v >> 18) & 63]);
      out.push_back(kAlphabet[(v >> 12) & 63]);
      out.push_back(kAlphabet[(v >> 6) & 63]);
      out.push_back('=');
    }
    out.append("\r\n");
  }
  return out;
}

absl::StatusOr<std::string> Base64Decode(absl::string_view text) {
  std::string out;
  out.reserve(text.size() / 4 * 3 + 3);
  std::uint32_t bits = 0;
  int in_quantum = 0;  // characters of the current 4-character quantum
  int pad_needed = 0;  // '=' the last quantum needs, once padding began
  int pad_seen = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (IsIgnored(c)) continue;
    if (c == '=') {
      if (pad_seen == 0) {
        if (in_quantum < 2) return Error("'=' where a quantum has fewer than 2 characters", i);
        pad_needed = 4 - in_quantum;
      }
      if (++pad_seen > pad_needed) return Error("too much '=' padding", i);
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
      out.push_back(static_cast<char>((bits >> 16) & 0xff));
      out.push_back(static_cast<char>((bits >> 8) & 0xff));
      out.push_back(static_cast<char>(bits & 0xff));
      bits = 0;
      in_quantum = 0;
    }
  }
  if (pad_seen > 0) {
    if (pad_seen < pad_needed) return Error("incomplete '=' padding", text.size());
    if (in_quantum == 2) {
      out.push_back(static_cast<char>((bits >> 4) & 0xff));
    } else {
      out.push_back(static_cast<char>((bits >> 10) & 0xff));
      out.push_back(static_cast<char>((bits >> 2) & 0xff));
    }
  } else if (in_quantum != 0) {
    return Error(absl::StrFormat("last quantum has %d characters, '=' padding missing", in_quantum),
                 text.size());
  }
  return out;
}

}  // namespace signet::cms
