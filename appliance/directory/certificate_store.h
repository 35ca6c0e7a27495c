// The directory's local store: one SQLite file (WAL journal, synchronous
// FULL, so a certificate whose Put returned is on disk and a kill -9 loses
// nothing acknowledged), every certificate indexed by each e-mail address
// it names (CertificateAddresses). Published and harvested certificates
// live here. Thread-safe.
#ifndef SIGNET_APPLIANCE_DIRECTORY_CERTIFICATE_STORE_H_
#define SIGNET_APPLIANCE_DIRECTORY_CERTIFICATE_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "appliance/directory/directory_certificate.h"

namespace signet::directory {

// How a certificate came into the store.
enum class StoreOrigin {
  kPublished,  // an operator's Publish
  kHarvested,  // a trusted signed mail's signer
};

struct StoredCertificate {
  std::string sha256_hex;  // of the DER, lower case: the store's key
  std::string der;
  StoreOrigin origin = StoreOrigin::kPublished;
  std::vector<std::string> addresses;  // as indexed
  std::string subject;                 // RFC 2253, for listings
  absl::Time not_before;
  absl::Time not_after;
  absl::Time added;
  // See DirectoryCertificate; with the time of the mail that advertised it.
  std::string smime_capabilities_der;
  absl::Time capabilities_time = absl::InfinitePast();
};

struct PutRequest {
  absl::string_view der;
  StoreOrigin origin = StoreOrigin::kPublished;
  absl::string_view smime_capabilities_der;
  // The signed mail's time (its signingTime, or when it was verified) for
  // harvested capabilities; newer capabilities replace older ones only.
  // Empty capabilities never replace any (a mail without the attribute says
  // nothing about what its sender supports).
  absl::Time capabilities_time = absl::InfinitePast();
};

struct ListRequest {
  // Only certificates indexed under this address (normalized); empty: all.
  std::string address;
  // Resume after this key (a previous page's last sha256_hex).
  std::string after_sha256_hex;
  // 0: 100; at most 1000.
  size_t limit = 100;
};

class CertificateStore : public CertificateSource {
 public:
  // Opens or creates the file (mode 0600) and its schema. An existing file
  // that is not a Signet store (another program's SQLite file, or no SQLite
  // file), or one of a newer schema, is refused with FailedPrecondition.
  // Errors from SQLite carry its message and the path: UNAVAILABLE for what
  // may pass (busy, I/O, disk full), INTERNAL for a corrupt file.
  static absl::StatusOr<std::unique_ptr<CertificateStore>> Open(const std::string& path);

  ~CertificateStore() override;

  absl::string_view name() const override { return "store"; }

  // Source "published" or "harvested"; `added` is the Put time. Newest
  // notBefore first. Matches `address` exactly: the caller normalizes.
  absl::StatusOr<std::vector<DirectoryCertificate>> Find(absl::string_view address) override;

  // Stores a certificate (durably when this returns OK). InvalidArgument,
  // storing nothing, for bytes that are not one DER certificate (trailing
  // bytes included), a certificate naming no valid e-mail address or too
  // many (CertificateAddresses), or capabilities that are not one DER
  // SEQUENCE OF SMIMECapability. The same certificate again is not
  // duplicated: a published one stays published, and its capabilities are
  // replaced when the new ones are newer.
  absl::StatusOr<StoredCertificate> Put(const PutRequest& request);

  // Put for many certificates in one transaction (imports, bulk harvests):
  // all of them or, when one is refused (its index is in the error),
  // none.
  absl::Status PutAll(absl::Span<const PutRequest> requests);

  // Removes by key (64 hex digits, either case); NotFound when absent.
  absl::Status Remove(absl::string_view sha256_hex);

  // Ordered by sha256_hex. InvalidArgument for an address that does not
  // normalize or a key that is not 64 hex digits.
  absl::StatusOr<std::vector<StoredCertificate>> List(const ListRequest& request);

  absl::StatusOr<uint64_t> Count();

 private:
  class Impl;
  explicit CertificateStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

const char* StoreOriginName(StoreOrigin origin);  // "published", "harvested"

}  // namespace signet::directory

#endif  // SIGNET_APPLIANCE_DIRECTORY_CERTIFICATE_STORE_H_
