// SMIMEA (RFC 8162) as a certificate source: the record at
// <hex of the first 28 bytes of SHA-256(local part)>._smimecert.<domain>,
// resolved through libunbound with DNSSEC validation. Only a secure answer
// is used; an insecure (unsigned zone) or bogus one yields nothing, and
// says so in the log. Only records that carry a whole certificate
// (selector 0 Cert, matching type 0 Full) can be used to encrypt; others
// are skipped.
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

namespace signet::directory {

struct SmimeaSourceOptions {
  // Recursive resolvers to forward to ("127.0.0.1", "127.0.0.1@5353");
  // empty: /etc/resolv.conf's.
  std::vector<std::string> forwarders;
  // Instead of forwarding, ask this authoritative server directly for every
  // name (stub zone for the whole tree): "127.0.0.1@5353". For tests and
  // for a bank's own DNS.
  std::string authoritative_server;
  // DNSSEC trust anchors (DS or DNSKEY records, zone-file format);
  // required: without one nothing validates.
  std::string trust_anchor_file;
  absl::Duration timeout = absl::Seconds(5);
};

class SmimeaSource : public CertificateSource {
 public:
  // InvalidArgument for a missing trust anchor file or a bad server.
  static absl::StatusOr<std::unique_ptr<SmimeaSource>> Create(SmimeaSourceOptions options);
  ~SmimeaSource() override;

  absl::string_view name() const override { return "smimea"; }

  // Source "smimea", dane_usage set. UNAVAILABLE when the resolver fails or
  // times out; OK and empty for NXDOMAIN, no data, insecure or bogus.
  absl::StatusOr<std::vector<DirectoryCertificate>> Find(absl::string_view address) override;

 private:
  class Impl;
  explicit SmimeaSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The owner name for an address (normalized): "<56 hex>._smimecert.<domain>."
std::string SmimeaOwnerName(absl::string_view address);

}  // namespace signet::directory

#endif  // SIGNET_APPLIANCE_DIRECTORY_SMIMEA_SOURCE_H_
