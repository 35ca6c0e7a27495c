// SMIMEA (RFC 8162) as a certificate source: the record at
// <hex of the first 28 bytes of SHA-256(local part)>._smimecert.<domain>,
// resolved through libunbound with DNSSEC validation. Only a secure answer
// is used; an insecure (unsigned zone) or bogus one yields nothing, and
// says so in the log. Only records that carry a whole certificate
// (selector 0 Cert, matching type 0 Full) can be used to encrypt; others
// are skipped.
//
// One libunbound context serves every Find, so its cache (DNSKEYs, answers,
// servers found down) is shared. It resolves in a thread of its own
// (ub_ctx_async(ctx, 1)), never in a forked process: the appliance holds
// PKCS#11 modules and threads a fork would copy. Each Find starts an
// asynchronous query and waits for it up to the timeout; one thread of the
// source's own delivers the answers (ub_fd, poll, ub_process). A query that
// times out is cancelled.
#ifndef SIGNET_APPLIANCE_DIRECTORY_SMIMEA_SOURCE_H_
#define SIGNET_APPLIANCE_DIRECTORY_SMIMEA_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "appliance/directory/directory_certificate.h"
#include "appliance/directory/smimea_owner_name.h"

namespace signet::directory {

struct SmimeaSourceOptions {
  // Recursive resolvers to forward to ("127.0.0.1", "127.0.0.1@5353");
  // empty: /etc/resolv.conf's.
  std::vector<std::string> forwarders;
  // Instead, ask this authoritative server for every name:
  // "127.0.0.1@5353". For tests and for a bank's own DNS. Names outside its
  // zones get REFUSED, hence UNAVAILABLE. (It is queried as a forwarder,
  // not as a stub zone for ".": unbound primes a root stub with ". NS",
  // which such a server refuses; smimea_source.cc says more.)
  std::string authoritative_server;
  // DNSSEC trust anchors (DS or DNSKEY records, zone-file format);
  // required: without one nothing validates.
  std::string trust_anchor_file;
  absl::Duration timeout = absl::Seconds(5);
};

// What the answers were, since the source was made: for metrics, and for
// tests to tell "bogus" from "insecure" from "nothing there", which Find
// reports alike (OK and empty).
struct SmimeaCounters {
  // Validated answers with records (usable or not).
  uint64_t secure = 0;
  // No trust anchor covers the name (or a chain of trust ends above it).
  uint64_t insecure = 0;
  // Validation failed: a forged or tampered answer, expired signatures, a
  // trust anchor that does not match.
  uint64_t bogus = 0;
  // Validated NXDOMAIN, and validated NOERROR without SMIMEA records.
  uint64_t nxdomain = 0;
  uint64_t nodata = 0;
  // Resolver errors, SERVFAIL and the like, timeouts.
  uint64_t unavailable = 0;
};

class SmimeaSource : public CertificateSource {
 public:
  // InvalidArgument for a missing or unreadable trust anchor file or a bad
  // server address. The context is set up (and the trust anchors read) here,
  // not at the first Find.
  static absl::StatusOr<std::unique_ptr<SmimeaSource>> Create(SmimeaSourceOptions options);
  ~SmimeaSource() override;

  absl::string_view name() const override { return "smimea"; }

  // Source "smimea", dane_usage set, added the time of the answer.
  // InvalidArgument for an address NormalizeAddress refuses. UNAVAILABLE
  // when the resolver fails (SERVFAIL, REFUSED) or times out; OK and empty
  // for NXDOMAIN, no data, insecure or bogus. Safe to call from several
  // threads at once.
  absl::StatusOr<std::vector<DirectoryCertificate>> Find(absl::string_view address) override;

  SmimeaCounters counters() const;

 private:
  class Impl;
  explicit SmimeaSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace signet::directory

#endif  // SIGNET_APPLIANCE_DIRECTORY_SMIMEA_SOURCE_H_
