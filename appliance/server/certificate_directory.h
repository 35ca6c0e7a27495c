// signetd's certificate directory (docs/directory.md), built from the
// config's `directory` section: the store, the LDAP directories and SMIMEA
// in that order, recipient validation as EncryptMail's, harvesting from
// verified mail, and the resolution of recipient addresses for encryption.
// The work may wait on the network (LDAP, DNS) or the disk (the store's
// fsync), so it runs on a queue of its own, never on gRPC's threads or the
// CPU workers.
#ifndef SIGNET_APPLIANCE_SERVER_CERTIFICATE_DIRECTORY_H_
#define SIGNET_APPLIANCE_SERVER_CERTIFICATE_DIRECTORY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "appliance/cms/verifier.h"
#include "appliance/directory/certificate_store.h"
#include "appliance/directory/directory.h"
#include "appliance/directory/harvest_policy.h"
#include "appliance/server/work_queue.h"
#include "common/ossl_ptr.h"
#include "signet/config/v1/config.pb.h"
#include "signet/v1/directory.pb.h"
#include "signet/v1/mail.pb.h"

namespace signet::server {

// Recipients found by address, for one encryption.
struct ResolvedRecipients {
  // The best certificate of each resolved address, in request order.
  std::vector<X509Ptr> certificates;
  std::vector<directory::RecipientAlgorithms> algorithms;
  std::vector<v1::ResolvedRecipient> resolved;
  std::vector<v1::UnresolvedRecipient> unresolved;
};

class CertificateDirectory {
 public:
  // Opens the store and makes the sources (connecting to none yet).
  // `validate` judges a recipient certificate as EncryptMail does.
  static absl::StatusOr<std::unique_ptr<CertificateDirectory>> Create(
      const config::v1::CertificateDirectory& config, directory::RecipientValidator validate);
  ~CertificateDirectory();

  WorkQueue& queue() { return *queue_; }
  directory::CertificateStore& store() { return *store_; }

  absl::StatusOr<directory::LookupResult> Lookup(absl::string_view address) const;

  // Every address of `addresses` looked up; those without a usable
  // certificate are listed in `unresolved`. InvalidArgument only for more
  // addresses than a call may ask.
  absl::StatusOr<ResolvedRecipients> Resolve(const std::vector<std::string>& addresses) const;

  // Adds the signers' certificates the harvest policy accepts to the store
  // (a certificate already there with the same capabilities is left
  // alone); the addresses of those added or refreshed. Failures are logged,
  // never the caller's: the mail verified either way.
  std::vector<std::string> Harvest(const cms::VerifiedMail& mail);
  bool harvesting() const { return harvest_; }

  // The published (never harvested) certificates for an address that are
  // valid now, newest first: what the public endpoint serves.
  absl::StatusOr<std::vector<std::string>> PublishedFor(absl::string_view address) const;

  // A certificate as the API describes it.
  static v1::DirectoryCertificate Describe(const directory::UsableCertificate& usable);
  static v1::DirectoryCertificate Describe(const directory::StoredCertificate& stored);

 private:
  CertificateDirectory() = default;

  std::shared_ptr<directory::CertificateStore> store_;
  std::unique_ptr<directory::Directory> directory_;
  directory::HarvestPolicy harvest_policy_;
  bool harvest_ = true;
  std::unique_ptr<WorkQueue> queue_;
};

// The most addresses one encryption may name.
inline constexpr int kMaxRecipientAddresses = 1000;

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_CERTIFICATE_DIRECTORY_H_
