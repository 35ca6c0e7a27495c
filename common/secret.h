// Containers for secrets (PINs, ECDH shared secrets, decrypted key material):
// every buffer they ever held is wiped before it is freed.
#ifndef SIGNET_COMMON_SECRET_H_
#define SIGNET_COMMON_SECRET_H_

#include <openssl/crypto.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace signet {

// An allocator that wipes memory before giving it back. A std::vector never
// keeps its bytes inline (unlike std::string's small-string buffer), so every
// byte a SecretBytes held passes through deallocate() and is wiped there,
// including the old buffer left behind when the vector grows.
template <typename T>
struct WipingAllocator {
  using value_type = T;
  WipingAllocator() noexcept = default;
  template <typename U>
  WipingAllocator(const WipingAllocator<U>&) noexcept {}  // NOLINT: rebinding
  T* allocate(std::size_t n) { return std::allocator<T>().allocate(n); }
  void deallocate(T* p, std::size_t n) noexcept {
    OPENSSL_cleanse(p, n * sizeof(T));
    std::allocator<T>().deallocate(p, n);
  }
  template <typename U>
  bool operator==(const WipingAllocator<U>&) const noexcept {
    return true;
  }
};

using SecretBytes = std::vector<uint8_t, WipingAllocator<uint8_t>>;

// A PIN or other textual secret. Deliberately has no operator<< and no
// implicit conversion to std::string, so it cannot drift into a log line or
// an error message by accident; code that needs the bytes asks for them by
// name (grep for `ExposeForPkcs11`).
class SecretString {
 public:
  SecretString() = default;
  explicit SecretString(std::string_view text) : bytes_(text.begin(), text.end()) {}
  SecretString(const SecretString&) = default;
  SecretString& operator=(const SecretString&) = default;
  SecretString(SecretString&&) noexcept = default;
  SecretString& operator=(SecretString&&) noexcept = default;

  bool empty() const { return bytes_.empty(); }
  std::size_t size() const { return bytes_.size(); }

  // The bytes, for the one call that must hand them to a token (C_Login).
  const uint8_t* ExposeForPkcs11() const { return bytes_.data(); }
  // The bytes as text, for code that compares or parses a secret it owns.
  std::string_view ExposeAsText() const {
    return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
  }

  void Append(std::string_view text) { bytes_.insert(bytes_.end(), text.begin(), text.end()); }
  // Removes trailing '\n' and '\r' (a PIN file usually ends with a newline).
  void TrimTrailingNewlines() {
    while (!bytes_.empty() && (bytes_.back() == '\n' || bytes_.back() == '\r')) bytes_.pop_back();
  }
  // Hands the whole buffer back now instead of at destruction, so that
  // deallocate() wipes all of its capacity: bytes past size() (left behind by
  // TrimTrailingNewlines or by a shorter secret assigned over a longer one)
  // are secret too, and wiping only [data, data + size) would miss them.
  void Clear() { SecretBytes().swap(bytes_); }

 private:
  SecretBytes bytes_;
};

}  // namespace signet

#endif  // SIGNET_COMMON_SECRET_H_
