#include "appliance/audit/audit_key.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "appliance/audit/chain.h"
#include "common/status_macros.h"

namespace signet::audit {
namespace {

absl::StatusOr<std::string> SpkiDer(const EVP_PKEY* key) {
  unsigned char* der = nullptr;
  int size = i2d_PUBKEY(key, &der);
  if (size <= 0) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, "cannot encode the audit public key");
  }
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(size));
  OPENSSL_free(der);
  return out;
}

absl::StatusOr<std::string> SpkiDerOfCertificate(X509* certificate) {
  const EVP_PKEY* key = X509_get0_pubkey(certificate);
  if (key == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "the audit certificate's public key cannot be read");
  }
  return SpkiDer(key);
}

absl::StatusOr<std::string> SpkiDerOfPem(absl::string_view pem) {
  BioPtr bio = ReadBio(pem);
  if (!bio) return OpenSslError(absl::StatusCode::kInternal, "out of memory");
  if (absl::StrContains(pem, "-----BEGIN CERTIFICATE-----")) {
    X509Ptr certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!certificate) {
      return OpenSslError(absl::StatusCode::kInvalidArgument, "not a PEM certificate");
    }
    return SpkiDerOfCertificate(certificate.get());
  }
  EvpPkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "neither a PEM certificate nor a PEM public key");
  }
  return SpkiDer(key.get());
}

absl::StatusOr<std::string> SpkiDerOfDer(absl::string_view der) {
  const auto* start = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* cursor = start;
  EvpPkeyPtr key(d2i_PUBKEY(nullptr, &cursor, static_cast<long>(der.size())));
  if (key && cursor == start + der.size()) return SpkiDer(key.get());
  cursor = start;
  X509Ptr certificate(d2i_X509(nullptr, &cursor, static_cast<long>(der.size())));
  if (certificate && cursor == start + der.size()) {
    ERR_clear_error();  // the failed attempt as a public key
    return SpkiDerOfCertificate(certificate.get());
  }
  return OpenSslError(absl::StatusCode::kInvalidArgument,
                      "neither a DER certificate nor a DER public key");
}

}  // namespace

AuditPublicKey::AuditPublicKey(EvpPkeyPtr key, bool is_rsa, std::string key_id)
    : key_(std::move(key)), is_rsa_(is_rsa), key_id_(std::move(key_id)) {}

absl::StatusOr<AuditPublicKey> AuditPublicKey::Parse(absl::string_view pem_or_der) {
  // A certificate chain is a few KiB; this is not one.
  if (pem_or_der.size() > 1024 * 1024) {
    return absl::InvalidArgumentError("audit key: larger than 1 MiB, not a key or certificate");
  }
  absl::StatusOr<std::string> der = absl::StrContains(pem_or_der, "-----BEGIN ")
                                        ? SpkiDerOfPem(pem_or_der)
                                        : SpkiDerOfDer(pem_or_der);
  if (!der.ok()) {
    return absl::Status(der.status().code(), absl::StrCat("audit key: ", der.status().message()));
  }
  return FromSpkiDer(*der);
}

absl::StatusOr<AuditPublicKey> AuditPublicKey::FromKey(const EVP_PKEY* key) {
  if (key == nullptr) return absl::InvalidArgumentError("no audit key");
  ASSIGN_OR_RETURN(std::string der, SpkiDer(key));
  return FromSpkiDer(der);
}

absl::StatusOr<AuditPublicKey> AuditPublicKey::FromSpkiDer(absl::string_view der) {
  const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
  // Parsed into the default library context: verification is software only.
  EvpPkeyPtr key(d2i_PUBKEY(nullptr, &cursor, static_cast<long>(der.size())));
  if (!key) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, "audit key: not a DER public key");
  }
  const bool is_rsa = EVP_PKEY_is_a(key.get(), "RSA");
  if (!is_rsa && !EVP_PKEY_is_a(key.get(), "EC")) {
    return absl::InvalidArgumentError("audit key: must be an RSA or EC key");
  }
  // The id of the key as OpenSSL encodes it, as the signer's is, so that
  // another encoding of the same key (a compressed EC point) has the same id.
  ASSIGN_OR_RETURN(std::string canonical, SpkiDer(key.get()));
  return AuditPublicKey(std::move(key), is_rsa, Sha256(canonical));
}

absl::Status AuditPublicKey::Verify(absl::string_view statement,
                                    absl::string_view signature) const {
  EvpMdCtxPtr context(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pkey_context = nullptr;
  if (!context ||
      EVP_DigestVerifyInit_ex(context.get(), &pkey_context, "SHA256", nullptr, nullptr, key_.get(),
                              nullptr) != 1 ||
      (is_rsa_ && EVP_PKEY_CTX_set_rsa_padding(pkey_context, RSA_PKCS1_PADDING) != 1)) {
    return OpenSslError(absl::StatusCode::kInternal, "cannot start verifying a checkpoint");
  }
  int result = EVP_DigestVerify(
      context.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
      reinterpret_cast<const unsigned char*>(statement.data()), statement.size());
  // Whatever OpenSSL says about a bad signature (padding, DER) is no help to
  // the operator; "does not verify" is.
  ERR_clear_error();
  if (result != 1) return absl::DataLossError("the signature does not verify");
  return absl::OkStatus();
}

}  // namespace signet::audit
