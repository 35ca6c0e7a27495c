#include "appliance/directory/smimea_owner_name.h"

#include <openssl/sha.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace signet::directory {

std::string SmimeaOwnerName(absl::string_view address) {
  const size_t at = address.rfind('@');
  if (at == absl::string_view::npos) return {};
  const absl::string_view local = address.substr(0, at);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(local.data()), local.size(), digest);
  // RFC 8162 section 3: the hash is truncated to 28 octets.
  const std::string hash =
      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 28));
  return absl::StrCat(hash, "._smimecert.", address.substr(at + 1), ".");
}

}  // namespace signet::directory
