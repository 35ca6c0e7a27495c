#include "appliance/dev/demo_ca.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/openssl_error.h"
#include "common/status_macros.h"

namespace signet::dev {
namespace {

absl::Status AddEntry(X509_NAME* name, const char* field, const std::string& value) {
  if (value.empty()) return absl::OkStatus();
  if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(value.data()),
                                 static_cast<int>(value.size()), -1, 0) != 1) {
    return OpenSslError(absl::StrCat("cannot set ", field, "=", value));
  }
  return absl::OkStatus();
}

absl::Status AddExtension(X509* certificate, X509V3_CTX* context, int nid,
                          const std::string& value) {
  X509ExtensionPtr extension(X509V3_EXT_conf_nid(nullptr, context, nid, value.c_str()));
  if (!extension || X509_add_ext(certificate, extension.get(), -1) != 1) {
    return OpenSslError(absl::StrCat("cannot add ", OBJ_nid2sn(nid), " '", value, "'"));
  }
  return absl::OkStatus();
}

std::string AltNames(const CertificateSpec& spec) {
  std::vector<std::string> names;
  for (const std::string& email : spec.emails) names.push_back("email:" + email);
  for (const std::string& dns : spec.dns_names) names.push_back("DNS:" + dns);
  for (const std::string& ip : spec.ip_addresses) names.push_back("IP:" + ip);
  return absl::StrJoin(names, ",");
}

// keyUsage and extendedKeyUsage for the role; what a decryption key may do
// depends on its algorithm (RSA transports keys, EC agrees on them).
std::pair<std::string, std::string> Usages(CertificateRole role, EVP_PKEY* key) {
  switch (role) {
    case CertificateRole::kCa:
      return {"critical,keyCertSign,cRLSign", ""};
    case CertificateRole::kMailSigning:
      return {"critical,digitalSignature,nonRepudiation", "emailProtection"};
    case CertificateRole::kMailDecryption:
      return {EVP_PKEY_is_a(key, "EC") ? "critical,keyAgreement" : "critical,keyEncipherment",
              "emailProtection"};
    case CertificateRole::kTlsServer:
      return {"critical,digitalSignature,keyEncipherment", "serverAuth"};
    case CertificateRole::kTlsClient:
      return {"critical,digitalSignature", "clientAuth"};
    case CertificateRole::kCheckpoints:
      return {"critical,digitalSignature", ""};
    case CertificateRole::kTimeStamping:
      // RFC 3161 section 2.3: the TSA's certificate has this one extended
      // key usage, critical; signetd refuses a TSA key without it.
      return {"critical,digitalSignature", "critical,timeStamping"};
  }
  return {"", ""};
}

}  // namespace

absl::StatusOr<X509Ptr> IssueCertificate(const CertificateSpec& spec, EVP_PKEY* subject_key,
                                         X509* issuer, EVP_PKEY* issuer_key) {
  if (subject_key == nullptr || issuer_key == nullptr) {
    return absl::InvalidArgumentError("a certificate needs a subject key and an issuer key");
  }
  X509Ptr certificate(X509_new());
  X509NamePtr subject(X509_NAME_new());
  BignumPtr serial(BN_new());
  if (!certificate || !subject || !serial) return OpenSslError("out of memory");
  RETURN_IF_ERROR(AddEntry(subject.get(), "O", spec.organization));
  RETURN_IF_ERROR(AddEntry(subject.get(), "CN", spec.common_name));
  // 127 random bits with the top bit clear: positive, at most 16 bytes.
  if (BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(certificate.get())) == nullptr) {
    return OpenSslError("cannot make a serial number");
  }
  const int64_t seconds = absl::ToInt64Seconds(spec.validity);
  if (X509_set_version(certificate.get(), X509_VERSION_3) != 1 ||
      X509_set_subject_name(certificate.get(), subject.get()) != 1 ||
      X509_set_issuer_name(certificate.get(), issuer != nullptr ? X509_get_subject_name(issuer)
                                                                : subject.get()) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(certificate.get()), static_cast<long>(seconds)) ==
          nullptr ||
      X509_set_pubkey(certificate.get(), subject_key) != 1) {
    return OpenSslError("cannot fill in the certificate");
  }

  X509V3_CTX context;
  X509V3_set_ctx(&context, issuer != nullptr ? issuer : certificate.get(), certificate.get(),
                 nullptr, nullptr, 0);
  const bool ca = spec.role == CertificateRole::kCa;
  const auto [key_usage, extended_usage] = Usages(spec.role, subject_key);
  struct Extension {
    int nid;
    std::string value;
  };
  std::vector<Extension> extensions = {
      {NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE"},
      {NID_key_usage, key_usage},
      {NID_subject_key_identifier, "hash"},
  };
  if (!ca || issuer != nullptr)
    extensions.push_back({NID_authority_key_identifier, "keyid:always"});
  if (!extended_usage.empty()) extensions.push_back({NID_ext_key_usage, extended_usage});
  if (const std::string alt_names = AltNames(spec); !alt_names.empty()) {
    extensions.push_back({NID_subject_alt_name, alt_names});
  }
  for (const Extension& extension : extensions) {
    RETURN_IF_ERROR(AddExtension(certificate.get(), &context, extension.nid, extension.value));
  }
  if (X509_sign(certificate.get(), issuer_key, EVP_sha256()) <= 0) {
    return OpenSslError("the issuer key did not sign the certificate");
  }
  return certificate;
}

absl::StatusOr<std::string> CertificatePem(X509* certificate) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), certificate) != 1)
    return OpenSslError("cannot write PEM");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

}  // namespace signet::dev
