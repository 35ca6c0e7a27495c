#include "tokens/keys/signature_check.h"

#include <openssl/err.h>
#include <openssl/rsa.h>

#include "absl/strings/str_cat.h"
#include "common/openssl_error.h"
#include "common/ossl_ptr.h"
#include "common/status_macros.h"

namespace signet {
namespace {

// A verification context with the scheme's parameters set, or an error.
absl::StatusOr<EvpPkeyCtxPtr> Verifier(const EVP_PKEY* public_key, const SignatureCheck& check) {
  // OpenSSL's own implementation where it is there (never a provider that
  // holds token keys, such as Signet's when the openssl CLI loads it), any
  // other (a FIPS provider) where it is not.
  EvpPkeyCtxPtr ctx(
      EVP_PKEY_CTX_new_from_pkey(nullptr, const_cast<EVP_PKEY*>(public_key), "?provider=default"));
  if (!ctx) return OpenSslError("EVP_PKEY_CTX_new_from_pkey");
  if (EVP_PKEY_verify_init(ctx.get()) != 1) return OpenSslError("EVP_PKEY_verify_init");
  const EVP_MD* md = HashMd(check.hash);
  if (md == nullptr || EVP_PKEY_CTX_set_signature_md(ctx.get(), md) != 1) {
    return OpenSslError("EVP_PKEY_CTX_set_signature_md");
  }
  switch (check.scheme) {
    case SignatureScheme::kRsaPkcs1:
      if (EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1) {
        return OpenSslError("EVP_PKEY_CTX_set_rsa_padding");
      }
      break;
    case SignatureScheme::kRsaPss:
      if (check.pss_salt_length < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("an RSA-PSS salt length of ", check.pss_salt_length, " bytes"));
      }
      // A salt length of 0 or more is checked exactly, not just bounded.
      if (EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING) != 1 ||
          EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), md) != 1 ||
          EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), check.pss_salt_length) != 1) {
        return OpenSslError("setting the RSA-PSS parameters");
      }
      break;
    case SignatureScheme::kEcdsa:
      break;
  }
  return ctx;
}

}  // namespace

const EVP_MD* HashMd(HashAlgorithm hash) {
  switch (hash) {
    case HashAlgorithm::kSha256:
      return EVP_sha256();
    case HashAlgorithm::kSha384:
      return EVP_sha384();
    case HashAlgorithm::kSha512:
      return EVP_sha512();
  }
  return nullptr;
}

absl::StatusOr<bool> SignatureVerifies(const EVP_PKEY* public_key, const SignatureCheck& check,
                                       absl::string_view digest, absl::string_view signature) {
  if (public_key == nullptr) return absl::InvalidArgumentError("no public key to verify with");
  const bool ec = check.scheme == SignatureScheme::kEcdsa;
  if (ec ? !EVP_PKEY_is_a(public_key, "EC")
         : !(EVP_PKEY_is_a(public_key, "RSA") || EVP_PKEY_is_a(public_key, "RSA-PSS"))) {
    return absl::InvalidArgumentError(absl::StrCat(SchemeName(check.scheme),
                                                   " signatures are not verified with a ",
                                                   EVP_PKEY_get0_type_name(public_key), " key"));
  }
  if (digest.size() != DigestLength(check.hash)) {
    return absl::InvalidArgumentError(absl::StrCat("a ", HashName(check.hash), " digest is ",
                                                   DigestLength(check.hash), " bytes, not ",
                                                   digest.size()));
  }
  ASSIGN_OR_RETURN(EvpPkeyCtxPtr verifier, Verifier(public_key, check));
  const int verified = EVP_PKEY_verify(
      verifier.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
      reinterpret_cast<const unsigned char*>(digest.data()), digest.size());
  // 0 is a wrong signature, a negative value one OpenSSL could not even
  // decode (bad DER, wrong length): both are signatures that do not verify.
  // Either way OpenSSL may have queued reasons, which are no one's business.
  ERR_clear_error();
  return verified == 1;
}

}  // namespace signet
