// Certificates for dev mode's demo PKI: a self-signed CA and the leaves it
// issues for the demo mail keys and the loopback TLS listener. The issuer key
// may be any EVP_PKEY, including a token key behind Signet's provider, so the
// demo CA's private key stays on the developer token like every other key.
#ifndef SIGNET_APPLIANCE_DEV_DEMO_CA_H_
#define SIGNET_APPLIANCE_DEV_DEMO_CA_H_

#include <openssl/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/ossl_ptr.h"

namespace signet::dev {

enum class CertificateRole {
  kCa,              // basicConstraints CA, keyCertSign and cRLSign
  kMailSigning,     // digitalSignature, nonRepudiation; emailProtection
  kMailDecryption,  // keyEncipherment (RSA) or keyAgreement (EC); emailProtection
  kTlsServer,       // digitalSignature; serverAuth
  kTlsClient,       // digitalSignature; clientAuth
  kCheckpoints,     // digitalSignature only: the audit log's checkpoint key
  kTimeStamping,    // digitalSignature; critical timeStamping (RFC 3161 section 2.3)
};

struct CertificateSpec {
  std::string common_name;
  std::string organization;
  CertificateRole role = CertificateRole::kMailSigning;
  // subjectAltName entries.
  std::vector<std::string> emails;
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  absl::Duration validity = absl::Hours(24 * 365 * 2);
};

// Issues a certificate for `subject_key` (its public half is used), signed
// with `issuer_key` under `issuer`; a null `issuer` makes it self-signed
// (then `subject_key` and `issuer_key` are the same key). SHA-256 signatures,
// a random 127-bit serial, validity from an hour ago for clock skew.
absl::StatusOr<X509Ptr> IssueCertificate(const CertificateSpec& spec, EVP_PKEY* subject_key,
                                         X509* issuer, EVP_PKEY* issuer_key);

absl::StatusOr<std::string> CertificatePem(X509* certificate);

}  // namespace signet::dev

#endif  // SIGNET_APPLIANCE_DEV_DEMO_CA_H_
