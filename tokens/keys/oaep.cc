#include "tokens/keys/oaep.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

namespace signet {

absl::StatusOr<SecretBytes> RemoveOaepSha256Padding(const SecretBytes& encoded,
                                                    std::size_t modulus_bytes) {
  if (encoded.size() > modulus_bytes) return absl::InvalidArgumentError("decryption failed");
  // A token may drop the leading zero bytes of the raw result.
  SecretBytes padded(modulus_bytes - encoded.size(), 0);
  padded.insert(padded.end(), encoded.begin(), encoded.end());
  SecretBytes plaintext(modulus_bytes);
  // Deprecated in OpenSSL 3.0 together with the rest of the RSA_* API, but
  // the only public entry to its constant-time OAEP check for a result that
  // was decrypted elsewhere.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  int length = RSA_padding_check_PKCS1_OAEP_mgf1(
      plaintext.data(), static_cast<int>(plaintext.size()), padded.data(),
      static_cast<int>(padded.size()), static_cast<int>(modulus_bytes), nullptr, 0, EVP_sha256(),
      EVP_sha256());
#pragma GCC diagnostic pop
  ERR_clear_error();
  if (length < 0) return absl::InvalidArgumentError("decryption failed");
  plaintext.resize(static_cast<size_t>(length));
  return plaintext;
}

}  // namespace signet
