// The certification authorities a verification trusts, as an X509_STORE.
#ifndef SIGNET_APPLIANCE_CMS_TRUST_STORE_H_
#define SIGNET_APPLIANCE_CMS_TRUST_STORE_H_

#include <openssl/x509.h>

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace signet::cms {

class TrustStore {
 public:
  // One or more PEM certificates; InvalidArgument when there are none or one
  // does not parse.
  static absl::StatusOr<TrustStore> FromPem(absl::string_view pem);
  static absl::StatusOr<TrustStore> FromCertificates(const std::vector<X509*>& anchors);

  X509_STORE* get() const { return store_.get(); }

 private:
  struct StoreFree {
    void operator()(X509_STORE* store) const { X509_STORE_free(store); }
  };
  explicit TrustStore(X509_STORE* store) : store_(store, StoreFree()) {}

  // Shared: a store is read-only once built and may serve many
  // verifications at once.
  std::shared_ptr<X509_STORE> store_;
};

}  // namespace signet::cms

#endif  // SIGNET_APPLIANCE_CMS_TRUST_STORE_H_
