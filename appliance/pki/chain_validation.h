// One certificate's chain to a trust store, judged as Signet judges every
// chain (a signer's in VerifyMail, a recipient's before encryption): dates,
// the purpose, certificate policies and revocation per the anchor's
// ValidationPolicy, with one revocation result per chain certificate.
#ifndef SIGNET_APPLIANCE_PKI_CHAIN_VALIDATION_H_
#define SIGNET_APPLIANCE_PKI_CHAIN_VALIDATION_H_

#include <openssl/types.h>
#include <openssl/x509.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "appliance/pki/revocation_check.h"
#include "appliance/pki/validation_policy.h"

namespace signet::pki {

// Why a chain is not accepted.
enum class ChainFailure {
  kUntrusted,          // no chain to a trust anchor
  kExpired,            // a certificate of the chain has expired
  kNotYetValid,        // a certificate of the chain is not valid yet
  kWrongPurpose,       // a certificate of the chain is not for the purpose
  kRevoked,            // a certificate of the chain is revoked
  kRevocationUnknown,  // the anchor requires a revocation answer there was not
  kPolicy,             // the certificate policies are not satisfied
  kInvalid,            // any other chain failure
};

struct ChainOptions {
  OSSL_LIB_CTX* libctx = nullptr;
  // X509_PURPOSE_SMIME_SIGN, ...; 0: none.
  int purpose = 0;
  // The purpose is checked on the chain's CA certificates only: the caller
  // judges the certificate itself. For S/MIME encryption, where OpenSSL's
  // purpose wants keyEncipherment of every key while EC key agreement needs
  // keyAgreement instead.
  bool purpose_for_cas_only = false;
  // The time the certificates must be valid at; absent: now.
  std::optional<absl::Time> at;
  // Revocation and certificate policies; null: neither is checked.
  const ValidationPolicy* validation = nullptr;
};

struct ChainResult {
  // Absent: the chain is trusted.
  std::optional<ChainFailure> failure;
  // Why not (OpenSSL's verify error, or the unanswered revocation question).
  std::string detail;
  // The subject (RFC 2253) of the certificate the failure is about, when
  // OpenSSL names one.
  std::string failed_subject;
  // Subjects from the certificate up to the trust anchor, when a chain was
  // built.
  std::vector<std::string> chain;
  // The revocation status of each certificate in `chain`, in the same order;
  // empty when revocation is not checked (or off for the chain's anchor).
  std::vector<RevocationResult> revocation;
};

// Builds and checks `certificate`'s chain to `trust` (a store with
// UseRevocationLookup), with `untrusted` as intermediates (may be null).
ChainResult ValidateChain(X509_STORE* trust, X509* certificate, STACK_OF(X509) * untrusted,
                          const ChainOptions& options);

// A name as RFC 2253 text ("CN=Customer,O=Bank"); empty when it cannot be
// printed.
std::string NameText(const X509_NAME* name);

}  // namespace signet::pki

#endif  // SIGNET_APPLIANCE_PKI_CHAIN_VALIDATION_H_
