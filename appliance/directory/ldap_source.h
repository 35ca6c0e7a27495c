// LDAP directories as a certificate source (RFC 4523): entries found by
// (mail=<address>) under a base DN, their userCertificate;binary (DER
// certificates) and userSMIMECertificate (PKCS#7 certs-only bundles, RFC
// 2798) read. Several servers are tried in order; a server that is down,
// refuses or hangs costs at most the timeout before the next is asked.
// Answers, "none" included, are cached per address for a TTL. Built on
// Debian's libldap (OpenLDAP).
#ifndef SIGNET_APPLIANCE_DIRECTORY_LDAP_SOURCE_H_
#define SIGNET_APPLIANCE_DIRECTORY_LDAP_SOURCE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "appliance/directory/directory_certificate.h"

namespace signet::directory {

struct LdapSourceOptions {
  // ldap:// or ldaps:// URLs (host and port only), asked in this order.
  std::vector<std::string> urls;
  // Where (mail=...) is searched, whole subtree.
  std::string base_dn;
  // Simple bind when set; anonymous otherwise. The password is read from
  // this file (first line) when the source is made, never logged.
  std::string bind_dn;
  std::string bind_password_file;
  // Per server: connecting, binding and searching together.
  absl::Duration timeout = absl::Seconds(5);
  absl::Duration cache_ttl = absl::Minutes(10);
  size_t max_cached_addresses = 10000;
  // At most this many entries and certificates are read per lookup, and
  // certificates larger than this are skipped.
  size_t max_entries = 20;
  size_t max_certificate_bytes = 64 << 10;
};

struct LdapSourceCounters {
  uint64_t lookups = 0;          // Find calls
  uint64_t cache_hits = 0;       // answered from the cache
  uint64_t searches = 0;         // searches sent to a server
  uint64_t server_failures = 0;  // a server down, refusing or timing out
  uint64_t skipped_values = 0;   // attribute values that were not certificates
};

class LdapSource : public CertificateSource {
 public:
  // InvalidArgument for no URL, a URL that is not ldap:// or ldaps://, an
  // empty base DN or an unreadable password file. Connects to nothing yet.
  static absl::StatusOr<std::unique_ptr<LdapSource>> Create(LdapSourceOptions options);
  ~LdapSource() override;

  absl::string_view name() const override { return "ldap"; }

  // Source "ldap <url of the server that answered>". UNAVAILABLE, naming
  // each server and what it did, when none answered.
  absl::StatusOr<std::vector<DirectoryCertificate>> Find(absl::string_view address) override;

  LdapSourceCounters counters() const;

 private:
  class Impl;
  explicit LdapSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace signet::directory

#endif  // SIGNET_APPLIANCE_DIRECTORY_LDAP_SOURCE_H_
