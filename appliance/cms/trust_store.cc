#include "appliance/cms/trust_store.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include "appliance/pki/revocation_check.h"
#include "appliance/pki/validation_policy.h"
#include "common/openssl_error.h"
#include "common/ossl_ptr.h"

namespace signet::cms {

absl::StatusOr<TrustStore> TrustStore::FromCertificates(const std::vector<X509*>& anchors) {
  if (anchors.empty()) return absl::InvalidArgumentError("a trust store needs a certificate");
  X509StorePtr store(X509_STORE_new());
  if (!store) return OpenSslError("cannot make a trust store");
  for (X509* anchor : anchors) {
    if (X509_STORE_add_cert(store.get(), anchor) != 1) {
      return OpenSslError("cannot add a trust anchor");
    }
  }
  // CRLs come from a verification's revocation check (VerifyOptions), not
  // from the store, which is shared by every verification.
  pki::UseRevocationLookup(store.get());
  pki::UseAnchorPolicies(store.get());
  return TrustStore(store.release());
}

absl::StatusOr<TrustStore> TrustStore::FromPem(absl::string_view pem) {
  BioPtr bio = ReadBio(pem);
  std::vector<X509Ptr> certificates;
  while (true) {
    X509Ptr certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!certificate) break;
    certificates.push_back(std::move(certificate));
  }
  // The loop ends at the first thing that is not a certificate; only the
  // end of the input is expected there.
  const unsigned long last = ERR_peek_last_error();
  if (ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE) {
    ERR_clear_error();
  } else if (last != 0) {
    absl::Status error = OpenSslError("a trust anchor does not parse");
    return absl::InvalidArgumentError(error.message());
  }
  if (certificates.empty()) return absl::InvalidArgumentError("no certificate in the trust store");
  std::vector<X509*> anchors;
  for (const X509Ptr& certificate : certificates) anchors.push_back(certificate.get());
  return FromCertificates(anchors);
}

}  // namespace signet::cms
