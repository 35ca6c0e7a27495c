// DER encoding of OpenSSL objects into a std::string, for the i2d_*
// functions that all follow the same size-then-write protocol.
#ifndef SIGNET_COMMON_DER_H_
#define SIGNET_COMMON_DER_H_

#include <string>

namespace signet {

// Empty when OpenSSL cannot encode the value.
//   std::string spki = DerOf<EVP_PKEY, i2d_PUBKEY>(key);
template <typename T, int (*Encode)(const T*, unsigned char**)>
std::string DerOf(const T* value) {
  int length = Encode(value, nullptr);
  if (length <= 0) return {};
  std::string der(static_cast<size_t>(length), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (Encode(value, &out) != length) return {};
  return der;
}

}  // namespace signet

#endif  // SIGNET_COMMON_DER_H_
