#include "tokens/keys/signature_encoding.h"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>

#include "absl/strings/str_cat.h"
#include "common/der.h"
#include "common/ossl_ptr.h"

namespace signet {
namespace {

// The DER prefix of a DigestInfo for each hash (RFC 8017 section 9.2, note 1).
absl::string_view DigestInfoPrefix(HashAlgorithm hash) {
  static constexpr unsigned char kSha256[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                              0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                              0x01, 0x05, 0x00, 0x04, 0x20};
  static constexpr unsigned char kSha384[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                              0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                              0x02, 0x05, 0x00, 0x04, 0x30};
  static constexpr unsigned char kSha512[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                              0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                              0x03, 0x05, 0x00, 0x04, 0x40};
  auto view = [](const auto& bytes) {
    return absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes));
  };
  switch (hash) {
    case HashAlgorithm::kSha256:
      return view(kSha256);
    case HashAlgorithm::kSha384:
      return view(kSha384);
    case HashAlgorithm::kSha512:
      return view(kSha512);
  }
  return {};
}

}  // namespace

absl::StatusOr<std::string> EncodeDigestInfo(HashAlgorithm hash, absl::string_view digest) {
  if (digest.size() != DigestLength(hash)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a ", HashName(hash), " digest is ", DigestLength(hash), " bytes, not ", digest.size()));
  }
  return absl::StrCat(DigestInfoPrefix(hash), digest);
}

absl::StatusOr<std::string> EcdsaRawToDer(absl::string_view raw) {
  if (raw.empty() || raw.size() % 2 != 0 || raw.size() > 2 * 66) {
    return absl::InvalidArgumentError(
        absl::StrCat("an ECDSA signature from the token has ", raw.size(),
                     " bytes; r||s must have an even length of at most 132"));
  }
  const size_t half = raw.size() / 2;
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  BignumPtr r(BN_bin2bn(bytes, static_cast<int>(half), nullptr));
  BignumPtr s(BN_bin2bn(bytes + half, static_cast<int>(half), nullptr));
  EcdsaSigPtr sig(ECDSA_SIG_new());
  if (!r || !s || !sig) return absl::ResourceExhaustedError("out of memory");
  // ECDSA_SIG_set0 takes ownership of r and s only when it succeeds.
  if (ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    return absl::InternalError("ECDSA_SIG_set0 failed");
  }
  (void)r.release();
  (void)s.release();
  std::string der = DerOf<ECDSA_SIG, i2d_ECDSA_SIG>(sig.get());
  if (der.empty()) return absl::InternalError("i2d_ECDSA_SIG failed");
  return der;
}

}  // namespace signet
