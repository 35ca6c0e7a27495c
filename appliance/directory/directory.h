// The certificate directory: the certificates usable to encrypt to an
// address. The sources are asked in their configured order, and the first
// that has a usable certificate answers (the later ones, LDAP or DNS that
// may take a network round trip, are not asked). Every candidate, whatever
// its source, must name the address and pass the recipient validation the
// caller supplies (chain, dates, revocation, key usage, emailProtection);
// usable ones come newest first, each with the algorithms its owner
// advertised.
#ifndef SIGNET_APPLIANCE_DIRECTORY_DIRECTORY_H_
#define SIGNET_APPLIANCE_DIRECTORY_DIRECTORY_H_

#include <openssl/x509.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "appliance/directory/directory_certificate.h"
#include "appliance/directory/recipient_algorithms.h"
#include "common/ossl_ptr.h"

namespace signet::directory {

struct UsableCertificate {
  DirectoryCertificate found;
  X509Ptr certificate;
  std::string sha256_hex;
  std::string subject;  // RFC 2253
  std::vector<std::string> addresses;
  absl::Time not_before;
  absl::Time not_after;
  RecipientAlgorithms algorithms;
};

struct LookupResult {
  std::string address;  // normalized
  std::vector<UsableCertificate> certificates;
  // Candidates refused and sources that failed, one line each, for the
  // caller and the log ("ldap: ...", "store: CN=Alice,...: EXPIRED ...").
  std::vector<std::string> problems;
};

// OK when `certificate` may be encrypted to; otherwise why not (as
// cms::CheckRecipients says it).
using RecipientValidator = std::function<absl::Status(X509* certificate)>;

struct DirectoryOptions {
  // Asked in this order.
  std::vector<std::shared_ptr<CertificateSource>> sources;
  RecipientValidator validate;
  // SMIMEA certificates with usage 3 (DANE-EE) are usable without
  // `validate`'s chain: only their dates and key are checked.
  bool trust_dane_ee = false;
};

class Directory {
 public:
  explicit Directory(DirectoryOptions options);

  // InvalidArgument for a malformed address; otherwise OK, with no
  // certificates when none is usable (problems say why).
  absl::StatusOr<LookupResult> Lookup(absl::string_view address) const;

 private:
  DirectoryOptions options_;
};

// Lower-case hex SHA-256 of DER bytes.
std::string Sha256Hex(absl::string_view der);

}  // namespace signet::directory

#endif  // SIGNET_APPLIANCE_DIRECTORY_DIRECTORY_H_
