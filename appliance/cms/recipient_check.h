// Recipient certificates judged before anything is encrypted to them: a
// chain to the recipient trust store (dates, purpose, certificate policies,
// revocation per the anchor's ValidationPolicy, as a signer's chain in
// VerifyMail), a key fit for receiving (keyEncipherment for RSA key
// transport, keyAgreement for EC key agreement, when keyUsage is present),
// and extendedKeyUsage emailProtection when extendedKeyUsage is present.
// Without it, a mail is readable by whoever holds a certificate the caller
// was given: a revoked one, one from any CA at all.
#ifndef SIGNET_APPLIANCE_CMS_RECIPIENT_CHECK_H_
#define SIGNET_APPLIANCE_CMS_RECIPIENT_CHECK_H_

#include <openssl/x509.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "appliance/cms/cms_context.h"
#include "appliance/cms/trust_store.h"
#include "appliance/pki/validation_policy.h"

namespace signet::cms {

enum class RecipientFailure {
  kUntrusted,          // no chain to a recipient trust anchor
  kExpired,            // the certificate or one of its chain has expired
  kNotYetValid,        // ... is not valid yet
  kRevoked,            // the certificate or one of its chain is revoked
  kRevocationUnknown,  // the anchor requires a revocation answer there was not
  kKeyUsage,           // the key cannot receive (type, keyUsage)
  kExtendedKeyUsage,   // extendedKeyUsage without emailProtection
  kWrongPurpose,       // a CA of the chain is not for S/MIME
  kPolicy,             // the certificate policies are not satisfied
  kInvalidChain,       // any other chain failure
};

// "REVOKED", for API details and logs.
const char* RecipientFailureName(RecipientFailure failure);

// The refused recipient, as the error Status carries it (payloads).
struct RecipientRefusal {
  RecipientFailure failure = RecipientFailure::kInvalidChain;
  // The certificate's position in the request's list, from 0.
  int index = 0;
  std::string subject;  // RFC 2253
  std::vector<std::string> email_addresses;
  // kRevoked: the CRL's reason ("keyCompromise"), if it gave one.
  std::string revocation_reason;
};

std::optional<RecipientRefusal> RecipientRefusalOf(const absl::Status& status);

struct RecipientCheckOptions {
  // The time the certificates must be valid at; absent: now.
  std::optional<absl::Time> at;
  // Revocation and certificate policies; null: neither is checked.
  const pki::ValidationPolicy* validation = nullptr;
};

// OK when every recipient passes. Otherwise InvalidArgument with a
// RecipientRefusal for the first that does not, its message naming the
// certificate (position from 1, subject, e-mail addresses) and the reason.
absl::Status CheckRecipients(const CmsContext& context, const TrustStore& trust,
                             const std::vector<X509*>& recipients,
                             const RecipientCheckOptions& options = {});

}  // namespace signet::cms

#endif  // SIGNET_APPLIANCE_CMS_RECIPIENT_CHECK_H_
