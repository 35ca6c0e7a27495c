// How a certificate chain is judged beyond building it to a trust anchor:
// revocation (where CRLs and OCSP answers come from, which is asked first,
// and what no answer means, per anchor)
// and certificate policies (RFC 5280 section 6.1's user-initial-policy-set
// and the three initial flags).
#ifndef SIGNET_APPLIANCE_PKI_VALIDATION_POLICY_H_
#define SIGNET_APPLIANCE_PKI_VALIDATION_POLICY_H_

#include <openssl/x509_vfy.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "appliance/pki/crl_store.h"
#include "appliance/pki/ocsp_client.h"
#include "appliance/pki/revocation_check.h"
#include "common/ossl_ptr.h"

namespace signet::pki {

// RFC 5280 section 6.1's initial values.
struct CertificatePolicies {
  // Dotted OIDs, the user-initial-policy-set; empty means anyPolicy.
  std::vector<std::string> acceptable;
  bool require_explicit = false;
  bool inhibit_any = false;
  bool inhibit_mapping = false;
};

struct ValidationPolicy {
  RevocationMode revocation = RevocationMode::kOff;
  // Overrides per trust anchor, by the SHA-256 of its DER (64 lower-case
  // hex digits).
  std::map<std::string, RevocationMode> anchor_revocation;
  // Null when revocation is off everywhere.
  std::shared_ptr<CrlStore> crls;
  // Null: no OCSP (off, offline, or revocation off everywhere).
  std::shared_ptr<OcspClient> ocsp;
  // Which of OCSP and the CRLs is asked first (when both are there).
  RevocationOrder order = RevocationOrder::kOcspFirst;
  // Certificates of CRL issuers that are on no chain (the issuers of
  // indirect CRLs, which mail seldom carries): offered to each validation
  // that checks revocation as untrusted certificates, so that such a CRL
  // can be checked. Each must chain to the same anchor as the certificate
  // its CRL speaks for. Null: none.
  std::shared_ptr<const std::vector<X509Ptr>> crl_issuers;

  // For chains to anchors not in anchor_policies.
  CertificatePolicies policies;
  // Per trust anchor, by fingerprint as above: these replace `policies`.
  std::map<std::string, CertificatePolicies> anchor_policies;

  // The mode for a chain ending at `anchor`.
  RevocationMode ModeFor(X509* anchor) const;
  // Whether any anchor has revocation checked.
  bool ChecksRevocation() const;
  // Policy processing on a verification, after X509_STORE_CTX_init: the
  // default policies now, an anchor's own once the chain is built (see
  // UseAnchorPolicies). The policy outlives the verification.
  // InvalidArgument for an OID that does not parse.
  absl::Status ApplyPolicies(X509_STORE_CTX* context) const;
};

// Makes `store`'s policy check use the policies of the chain's anchor
// (ValidationPolicy::anchor_policies) when the verification had
// ApplyPolicies: OpenSSL checks policies after the chain is built, and the
// anchor is known only then. Once per store, before it is shared.
void UseAnchorPolicies(X509_STORE* store);

// The SHA-256 of a certificate's DER, lower-case hex: how anchors are named
// in the configuration.
std::string Sha256Fingerprint(X509* certificate);

}  // namespace signet::pki

#endif  // SIGNET_APPLIANCE_PKI_VALIDATION_POLICY_H_
