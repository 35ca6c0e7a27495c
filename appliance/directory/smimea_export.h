// The SMIMEA records (RFC 8162) an operator adds to the bank's DNS zone so
// that correspondents can find the bank's certificates: one zone-file line
// per address and certificate, carrying the whole certificate (selector 0
// Cert, matching type 0 Full), which is what a sender needs to encrypt.
#ifndef SIGNET_APPLIANCE_DIRECTORY_SMIMEA_EXPORT_H_
#define SIGNET_APPLIANCE_DIRECTORY_SMIMEA_EXPORT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace signet::directory {

struct SmimeaExportOptions {
  // RFC 6698 certificate usage: 3 DANE-EE (DNSSEC alone vouches for the
  // certificate) or 1 PKIX-EE (it must also chain to a CA the sender
  // trusts). Usages 0 and 2 name a CA certificate, which this export does
  // not write.
  int usage = 3;
  int ttl = 3600;
  // RFC 3597 generic syntax ("TYPE53 \# <length> <hex>"), for servers and
  // tools that do not know the SMIMEA mnemonic.
  bool generic_syntax = false;
};

struct SmimeaExportEntry {
  std::string address;
  // DER X.509.
  std::string der;
};

// "<owner> <ttl> IN SMIMEA <usage> 0 0 <HEX>\n" (or the generic form) with
// the owner from SmimeaOwnerName of the normalized address. InvalidArgument
// for an address NormalizeAddress refuses, DER that is not exactly one
// certificate, or a usage other than 1 or 3.
absl::StatusOr<std::string> SmimeaZoneRecord(const SmimeaExportEntry& entry,
                                             const SmimeaExportOptions& options = {});

// The lines for every entry, in order; the first error stops it.
absl::StatusOr<std::string> SmimeaZoneRecords(const std::vector<SmimeaExportEntry>& entries,
                                              const SmimeaExportOptions& options = {});

}  // namespace signet::directory

#endif  // SIGNET_APPLIANCE_DIRECTORY_SMIMEA_EXPORT_H_
