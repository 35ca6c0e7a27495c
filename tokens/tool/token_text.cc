#include "tokens/tool/token_text.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/ossl_ptr.h"

namespace signet::tool {
namespace {

std::string CurveName(EVP_PKEY* key) {
  char group[80] = {};
  size_t length = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                     &length) != 1) {
    return "unknown curve";
  }
  const absl::string_view name(group, length);
  if (name == "prime256v1") return "P-256";
  if (name == "secp384r1") return "P-384";
  if (name == "secp521r1") return "P-521";
  return std::string(name);
}

}  // namespace

std::string Printable(absl::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) {
      absl::StrAppendFormat(&out, "\\x%02x", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::string TypeText(KeyType type, EVP_PKEY* public_key) {
  if (public_key == nullptr) return std::string(KeyTypeName(type));
  const int bits = EVP_PKEY_get_bits(public_key);
  if (type == KeyType::kEc) return absl::StrCat("EC ", CurveName(public_key), ", ", bits, " bits");
  return absl::StrCat("RSA, ", bits, " bits");
}

std::string UsageText(const KeyAttributes& attributes) {
  std::vector<absl::string_view> usage;
  if (attributes.sign) usage.push_back("sign");
  if (attributes.decrypt) usage.push_back("decrypt");
  if (attributes.derive) usage.push_back("derive");
  if (attributes.unwrap) usage.push_back("unwrap");
  return usage.empty() ? "none" : absl::StrJoin(usage, ", ");
}

std::string CertificateText(X509* certificate) {
  if (certificate == nullptr) return "none";
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return "present";
  BIO_puts(bio.get(), "subject ");
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253);
  BIO_puts(bio.get(), ", expires ");
  ASN1_TIME_print(bio.get(), X509_get0_notAfter(certificate));
  return Printable(BioContents(bio.get()));
}

std::string HexId(absl::string_view id) { return id.empty() ? "none" : absl::BytesToHexString(id); }

std::string KeyHeading(absl::string_view label) {
  return label.empty() ? "key (no label)" : absl::StrCat("key ", Printable(label));
}

absl::StatusOr<std::string> PublicKeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key) != 1) {
    return absl::InternalError("the public key cannot be written as PEM");
  }
  return BioContents(bio.get());
}

}  // namespace signet::tool
