// A certificate one of the directory's sources returned for an address, with
// what is known about it beyond the certificate itself. The sources only
// find; whether a certificate may be used to encrypt is the directory's
// decision (directory.h), made the same way for every source.
#ifndef SIGNET_APPLIANCE_DIRECTORY_DIRECTORY_CERTIFICATE_H_
#define SIGNET_APPLIANCE_DIRECTORY_DIRECTORY_CERTIFICATE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace signet::directory {

struct DirectoryCertificate {
  // DER X.509.
  std::string der;
  // Where it came from, for operators and the API: "published",
  // "harvested", "ldap ldap://127.0.0.1:389", "smimea".
  std::string source;
  // The SMIMECapabilities attribute value (DER SEQUENCE OF SMIMECapability,
  // RFC 8551 section 2.5.2) the owner advertised in the newest signed mail
  // the certificate was harvested from; empty when none is known.
  std::string smime_capabilities_der;
  // When the source first had it (store), or when it was fetched.
  absl::Time added = absl::InfinitePast();
  // SMIMEA answers only: the certificate usage field (RFC 6698 section
  // 2.1.1; 3 is DANE-EE, a certificate DNSSEC alone vouches for); -1
  // otherwise.
  int dane_usage = -1;
};

// One place certificates are looked up in.
class CertificateSource {
 public:
  virtual ~CertificateSource() = default;

  // "store", "ldap", "smimea": for logs, metrics and errors.
  virtual absl::string_view name() const = 0;

  // Every certificate the source holds for `address` (as NormalizeAddress
  // returns it), unfiltered: expired, revoked or foreign ones included. OK
  // and empty when there is none; UNAVAILABLE when the source could not be
  // asked (every server down or timed out), so the caller can say so
  // instead of "no certificate".
  virtual absl::StatusOr<std::vector<DirectoryCertificate>> Find(absl::string_view address) = 0;
};

}  // namespace signet::directory

#endif  // SIGNET_APPLIANCE_DIRECTORY_DIRECTORY_CERTIFICATE_H_
