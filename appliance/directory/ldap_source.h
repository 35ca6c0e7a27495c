// LDAP directories as a certificate source (RFC 4523): entries found by
// (mail=<address>) under a base DN, their userCertificate;binary (DER
// certificates) and userSMIMECertificate (PKCS#7 certs-only bundles, RFC
// 2798) read. Several servers are tried in order; a server that is down,
// refuses or hangs costs at most the timeout before the next is asked.
// Answers, "none" included, are cached per address for a TTL. Built on
// Debian's libldap (OpenLDAP).
//
// What counts as an answer, and what as a server failure (the next server
// is asked, and a lookup no server answered is not cached):
//  - An answer: a search that completed, or was cut short by the size limit
//    (what came is used). Entries without certificates give "none".
//  - A failure: no connection, a timeout, a refused bind (a wrong password
//    is a configuration error another server will not fix, but neither
//    should it become a cached "none"), and noSuchObject for the base DN:
//    a replica without the subtree, or ACLs hiding it from us, says nothing
//    about the address, and an operator wants to hear about it.
// Values that are not certificates (nor certs-only PKCS#7 bundles of
// them), or larger than max_certificate_bytes, are counted and skipped;
// one broken value never hides the good ones beside it. The same
// certificate found twice (in both attributes, or in two entries) is
// returned once.
//
// Connections are kept (a few per server, each used by one lookup at a
// time, since libldap handles are not thread-safe) and reused; one the
// server has since closed is made again once within the lookup's timeout.
// A connection that timed out is dropped. Referrals are not followed: they
// would send the bind password to a server nobody configured.
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
  // this file (its first line, without the line end) when the source is
  // made, kept in memory that is wiped when the source goes, and never put
  // in a log or an error. Both or neither must be set.
  std::string bind_dn;
  std::string bind_password_file;
  // Per server: connecting, binding and searching together.
  absl::Duration timeout = absl::Seconds(5);
  absl::Duration cache_ttl = absl::Minutes(10);
  size_t max_cached_addresses = 10000;
  // At most this many entries and certificates are read per lookup (the
  // search's size limit too), and certificates larger than this are
  // skipped. Zero cache_ttl or max_cached_addresses: no cache.
  size_t max_entries = 20;
  size_t max_certificate_bytes = 64 << 10;
};

struct LdapSourceCounters {
  uint64_t lookups = 0;          // Find calls
  uint64_t cache_hits = 0;       // answered from the cache
  uint64_t searches = 0;         // searches sent to a server
  uint64_t server_failures = 0;  // a server down, refusing or timing out
  uint64_t skipped_values = 0;   // attribute values that were not certificates, or too large
};

class LdapSource : public CertificateSource {
 public:
  // InvalidArgument for no URL, a URL that is not ldap:// or ldaps:// (or
  // has more than a host and port), an empty base DN, a bind DN without a
  // password file or the other way round, an unreadable password file or
  // one whose first line is empty, or a zero timeout, max_entries or
  // max_certificate_bytes. Connects to nothing yet.
  static absl::StatusOr<std::unique_ptr<LdapSource>> Create(LdapSourceOptions options);
  ~LdapSource() override;

  absl::string_view name() const override { return "ldap"; }

  // Source "ldap <url of the server that answered>". InvalidArgument for
  // an address NormalizeAddress refuses. UNAVAILABLE, naming each server
  // and what it did ("ldap://10.0.0.1:389: Can't contact LDAP server
  // (connecting and binding); ldap://10.0.0.2:389: timed out after 5s
  // (searching)"), when none answered. Thread-safe.
  absl::StatusOr<std::vector<DirectoryCertificate>> Find(absl::string_view address) override;

  LdapSourceCounters counters() const;

 private:
  class Impl;
  explicit LdapSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace signet::directory

#endif  // SIGNET_APPLIANCE_DIRECTORY_LDAP_SOURCE_H_
