#include "tokens/keys/oaep.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/rsa.h>

#include "absl/strings/str_cat.h"

namespace signet {
namespace {

const EVP_MD* OaepDigest(DecryptionScheme scheme) {
  switch (scheme) {
    case DecryptionScheme::kRsaPkcs1:
      return nullptr;
    case DecryptionScheme::kRsaOaepSha1:
      return EVP_sha1();
    case DecryptionScheme::kRsaOaepSha256:
      return EVP_sha256();
    case DecryptionScheme::kRsaOaepSha384:
      return EVP_sha384();
    case DecryptionScheme::kRsaOaepSha512:
      return EVP_sha512();
  }
  return nullptr;
}

}  // namespace

std::optional<DecryptionScheme> OaepScheme(int digest_nid, int mgf1_digest_nid) {
  // MGF1 over another hash than OAEP's own is legal (RFC 8017), but the
  // senders Signet knows (OpenSSL's CMS, pkijs, WebCrypto) use one hash for
  // both, and tokens that take such a pair are rarer still.
  if (digest_nid != mgf1_digest_nid) return std::nullopt;
  switch (digest_nid) {
    case NID_sha1:
      return DecryptionScheme::kRsaOaepSha1;
    case NID_sha256:
      return DecryptionScheme::kRsaOaepSha256;
    case NID_sha384:
      return DecryptionScheme::kRsaOaepSha384;
    case NID_sha512:
      return DecryptionScheme::kRsaOaepSha512;
    default:
      return std::nullopt;
  }
}

absl::StatusOr<SecretBytes> RemoveOaepPadding(DecryptionScheme scheme, const SecretBytes& encoded,
                                              std::size_t modulus_bytes) {
  const EVP_MD* md = OaepDigest(scheme);
  if (md == nullptr) {
    return absl::InternalError(absl::StrCat(SchemeName(scheme), " has no OAEP padding"));
  }
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
      static_cast<int>(padded.size()), static_cast<int>(modulus_bytes), nullptr, 0, md, md);
#pragma GCC diagnostic pop
  ERR_clear_error();
  if (length < 0) return absl::InvalidArgumentError("decryption failed");
  plaintext.resize(static_cast<size_t>(length));
  return plaintext;
}

}  // namespace signet
