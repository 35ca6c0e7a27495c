// Helpers for the MIME tests: a status matcher (Debian's abseil has none),
// a check that a view lies inside the text it was cut from, and
// deterministic test bytes.
#ifndef SIGNET_APPLIANCE_CMS_MIME_TEST_UTIL_H_
#define SIGNET_APPLIANCE_CMS_MIME_TEST_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"

namespace signet::cms::mime_testing {

inline const absl::Status& StatusOf(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

// An InvalidArgument Status or StatusOr whose message contains `substring`.
MATCHER_P(InvalidArgumentWith, substring, "") {
  const absl::Status& status = StatusOf(arg);
  *result_listener << "status is " << status.ToString();
  return status.code() == absl::StatusCode::kInvalidArgument &&
         std::string(status.message()).find(substring) != std::string::npos;
}

// Whether `view` points into `text` (so it is the input's own bytes, not a
// copy).
inline bool Within(absl::string_view view, absl::string_view text) {
  return view.data() >= text.data() && view.data() + view.size() <= text.data() + text.size();
}

// `size` bytes from a linear congruential generator seeded with `seed`:
// the same for the same seed, and covering all 256 values.
inline std::string Bytes(std::size_t size, std::uint32_t seed) {
  std::string out(size, '\0');
  for (char& c : out) {
    seed = seed * 1664525u + 1013904223u;
    c = static_cast<char>(seed >> 24);
  }
  return out;
}

// `size` characters drawn from `alphabet` by the same generator: a small
// alphabet makes line breaks, lone CRs, padding and whitespace meet in
// every combination.
inline std::string Drawn(std::size_t size, std::uint32_t seed, absl::string_view alphabet) {
  std::string out(size, '\0');
  for (char& c : out) {
    seed = seed * 1664525u + 1013904223u;
    c = alphabet[(seed >> 16) % alphabet.size()];
  }
  return out;
}

}  // namespace signet::cms::mime_testing

#endif  // SIGNET_APPLIANCE_CMS_MIME_TEST_UTIL_H_
