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

namespace signet::pki {

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

  // Dotted OIDs; empty means anyPolicy.
  std::vector<std::string> acceptable_policies;
  bool require_explicit_policy = false;
  bool inhibit_any_policy = false;
  bool inhibit_policy_mapping = false;

  // The mode for a chain ending at `anchor`.
  RevocationMode ModeFor(X509* anchor) const;
  // Whether any anchor has revocation checked.
  bool ChecksRevocation() const;
  // Policy processing on a verification, after X509_STORE_CTX_init.
  // InvalidArgument for an OID that does not parse.
  absl::Status ApplyPolicies(X509_STORE_CTX* context) const;
};

// The SHA-256 of a certificate's DER, lower-case hex: how anchors are named
// in the configuration.
std::string Sha256Fingerprint(X509* certificate);

}  // namespace signet::pki

#endif  // SIGNET_APPLIANCE_PKI_VALIDATION_POLICY_H_
