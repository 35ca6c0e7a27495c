// Revocation checking inside OpenSSL's chain validation (X509_verify_cert),
// so that delta CRLs, indirect CRLs, issuing distribution points and reason
// partitions are decided by OpenSSL's extended CRL support, not by a second
// implementation. What Signet adds: where CRLs come from (CrlStore), OCSP
// (OcspClient) before or after the CRLs, an outcome per certificate of the
// chain instead of OpenSSL's first error, and the policy that decides what
// an unanswered question means.
#ifndef SIGNET_APPLIANCE_PKI_REVOCATION_CHECK_H_
#define SIGNET_APPLIANCE_PKI_REVOCATION_CHECK_H_

#include <openssl/x509_vfy.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "appliance/pki/crl_store.h"
#include "appliance/pki/ocsp_client.h"

namespace signet::pki {

struct ValidationPolicy;

enum class RevocationMode {
  kOff,      // not checked
  kPrefer,   // checked; no answer leaves the certificate valid, reported UNKNOWN
  kRequire,  // checked; no answer refuses the chain (REVOCATION_UNKNOWN)
};

// Which source is asked first for a certificate; the other is asked only
// when the first gives no answer (GOOD or REVOKED). A REVOKED from
// whichever source answers first is final.
enum class RevocationOrder { kOcspFirst, kCrlFirst };

enum class RevocationState { kNotChecked, kGood, kRevoked, kUnknown };

// "GOOD", "REVOKED", ...
const char* RevocationStateName(RevocationState state);

struct RevocationResult {
  RevocationState state = RevocationState::kNotChecked;
  // Where the answer came from: the CRLs consulted, by source, or
  // "ocsp <responder URL>".
  std::string source;
  // The newest thisUpdate of those CRLs, or the OCSP response's.
  std::optional<absl::Time> this_update;
  // For REVOKED.
  std::optional<absl::Time> revoked_at;
  // REVOKED: the CRL's or OCSP response's reason code ("keyCompromise"),
  // if any. UNKNOWN: why there was no answer ("unable to get certificate
  // CRL"; OCSP's reason first when a responder was asked). GOOD with
  // revoked_at: judged as of an earlier time (a time-stamp's), revoked only
  // after it for a reason that leaves earlier signatures valid ("revoked
  // after the time judged (superseded)").
  std::string reason;
};

// Makes `store`'s CRL lookups ask the CrlStore of the RevocationCheck
// attached to each verification (others get the store's own CRLs). Once per
// store, before it is shared.
void UseRevocationLookup(X509_STORE* store);

// One verification's revocation check. Not copyable: the store context
// points at it until X509_verify_cert returns.
class RevocationCheck {
 public:
  // `policy` (its CRL store and per-anchor modes) outlives the check.
  explicit RevocationCheck(const ValidationPolicy& policy) : policy_(policy) {}
  RevocationCheck(const RevocationCheck&) = delete;
  RevocationCheck& operator=(const RevocationCheck&) = delete;
  ~RevocationCheck();

  // After X509_STORE_CTX_init: CRL checking of the whole chain, with
  // OpenSSL's extended CRL support and delta CRLs, and a callback that
  // records an unanswered question and goes on (revocation still fails
  // the chain at once). X509_verify_cert must then run on this thread: the
  // path of an indirect CRL's issuer, which OpenSSL validates inside it
  // without this check attached, is answered from the same CRL store.
  void Attach(X509_STORE_CTX* context);

  // After X509_verify_cert: one result per certificate of the chain, the
  // trust anchor's kNotChecked (RFC 5280 section 6.1: an anchor is trusted
  // as configured, not validated).
  std::vector<RevocationResult> Results(X509_STORE_CTX* context) const;

  // After X509_verify_cert succeeded: the certificates the CRLs found good
  // are remembered by the CRL store (CrlStore::RememberGood), so that the
  // next verification of the same chain need not check those CRLs again.
  // Not for a verification as of another time.
  void RememberAnswers(X509_STORE_CTX* context) const;

  // The revocation mode of the chain's trust anchor (the default with no
  // chain). Worked out once a verification: the anchor's fingerprint is a
  // hash of its DER.
  RevocationMode AnchorMode(const X509_STORE_CTX* context);

 private:
  friend void UseRevocationLookup(X509_STORE* store);
  static int VerifyCallback(int ok, X509_STORE_CTX* context);
  // For OpenSSL's validation of an indirect CRL issuer's path, run inside
  // an attached verification: CRLs from the outer check's store, and an
  // unanswered question refuses the CRL issuer, and with it its CRL.
  static STACK_OF(X509_CRL) * CrlIssuerPathCrls(const RevocationCheck& outer,
                                                const X509_STORE_CTX* context,
                                                const X509_NAME* name);
  static int CrlIssuerPathCallback(int ok, X509_STORE_CTX* context);
  static STACK_OF(X509_CRL) * LookupCrls(const X509_STORE_CTX* context, const X509_NAME* name);
  // The OCSP answer for the certificate at `depth`, asked once per
  // verification; null when OCSP is off, the anchor's mode is off, the
  // certificate is the anchor or no responder is named for it.
  const OcspAnswer* AskOcsp(const X509_STORE_CTX* context, int depth);

  const ValidationPolicy& policy_;
  std::optional<RevocationMode> anchor_mode_;
  // The check attached on this thread before this one (see Attach).
  bool attached_ = false;
  RevocationCheck* previous_ = nullptr;
  struct Depth {
    std::string sources;
    std::optional<absl::Time> this_update;
    std::string unknown;  // the first reason there was no answer
    bool revoked = false;
    // Listed, but revoked after the time the chain is judged at, for a
    // reason that leaves what was signed before valid.
    bool revoked_later = false;
    std::optional<absl::Time> revoked_at;
    std::string revocation_reason;
    bool ocsp_asked = false;
    OcspAnswer ocsp;
    // The OCSP answer (GOOD or REVOKED) decided this certificate.
    bool ocsp_decided = false;
    // CRLs OpenSSL found to be no authority here (out of scope, a bad
    // signature...): their entries do not revoke.
    std::vector<const X509_CRL*> unusable_crls;
    // The last CRL whose dates OpenSSL questioned (see VerifyCallback).
    const X509_CRL* crl_with_time_problem = nullptr;
    // The CRL store's memo answered GOOD: no CRL was given to OpenSSL.
    bool crl_memo = false;
    // For the memo: the key, and the earliest nextUpdate of the CRLs
    // (absent when one has none: such an answer is not remembered).
    std::string memo_key;
    bool crls_taken = false;
    // A CRL by another issuer than the certificate's (an indirect CRL)
    // was consulted: its answer also rests on the CRL issuer's
    // certificate, checked outside the chain, so it is not remembered.
    bool indirect = false;
    std::optional<absl::Time> next_update;
    bool next_update_missing = false;
  };
  std::map<int, Depth> depths_;
};

}  // namespace signet::pki

#endif  // SIGNET_APPLIANCE_PKI_REVOCATION_CHECK_H_
