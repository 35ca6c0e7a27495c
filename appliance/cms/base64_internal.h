// The base64 codec's implementations behind mime.h's Base64Encode,
// AppendBase64 and Base64Decode: the scalar one (the reference, and the
// fallback everywhere) and, on x86-64, one with AVX2 kernels chosen at run
// time when the CPU has AVX2. Exposed so that the tests and the fuzzer run
// both on any machine, whatever the dispatcher picked; not part of the API.
#ifndef SIGNET_APPLIANCE_CMS_BASE64_INTERNAL_H_
#define SIGNET_APPLIANCE_CMS_BASE64_INTERNAL_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace signet::cms::base64_internal {

// 76 characters per line (RFC 2045 §6.8) are 19 groups of 3 input bytes.
inline constexpr std::size_t kBytesPerLine = 57;
inline constexpr std::size_t kCharsPerLine = 76;

// Writes exactly Base64EncodedSize(size) bytes at dst: lines of 76
// characters, each ended by CRLF.
void EncodeScalar(const unsigned char* src, std::size_t size, char* dst);

// What a bulk decoder did: input characters consumed, bytes written.
struct Decoded {
  std::size_t consumed;
  std::size_t written;
};

// The decoder's bulk step, entered where no quantum is open and no padding
// was seen: decodes whole quanta of alphabet characters from the start of
// src[0, size) into dst and stops before anything else (an ignored
// character, '=', a byte outside the alphabet, fewer than 4 characters
// left). The AVX2 step also steps over CRLF and LF between quanta, which
// the rules ignore there too. Writes at most 3 bytes per 4 characters
// consumed, never beyond them.
Decoded DecodeQuantaScalar(const unsigned char* src, std::size_t size, char* dst);

absl::StatusOr<std::string> DecodeScalar(absl::string_view text);
// Base64DecodeInto's two implementations (in place allowed).
absl::StatusOr<std::size_t> DecodeScalarInto(absl::string_view text, char* out);

// Whether Base64Encode, AppendBase64 and Base64Decode run the AVX2 code.
bool DispatchesToAvx2();

#if defined(__x86_64__)
// Whether the CPU (and the OS, which must save the AVX state) runs AVX2.
bool CpuHasAvx2();

// The same results as the scalar functions, byte for byte and error for
// error; call only where CpuHasAvx2().
void EncodeAvx2(const unsigned char* src, std::size_t size, char* dst);
Decoded DecodeQuantaAvx2(const unsigned char* src, std::size_t size, char* dst);
absl::StatusOr<std::string> DecodeAvx2(absl::string_view text);
absl::StatusOr<std::size_t> DecodeAvx2Into(absl::string_view text, char* out);
#endif

}  // namespace signet::cms::base64_internal

#endif  // SIGNET_APPLIANCE_CMS_BASE64_INTERNAL_H_
