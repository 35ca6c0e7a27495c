#include "appliance/directory/smimea_export.h"

#include <openssl/x509.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "appliance/directory/email_address.h"
#include "appliance/directory/smimea_owner_name.h"
#include "common/ossl_ptr.h"
#include "common/status_macros.h"

namespace signet::directory {

absl::StatusOr<std::string> SmimeaZoneRecord(const SmimeaExportEntry& entry,
                                             const SmimeaExportOptions& options) {
  if (options.usage != 1 && options.usage != 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        "SMIMEA usage ", options.usage, " is not exported; use 3 (DANE-EE) or 1 (PKIX-EE)"));
  }
  if (options.ttl < 0) return absl::InvalidArgumentError("SMIMEA TTL must not be negative");
  ASSIGN_OR_RETURN(const std::string address, NormalizeAddress(entry.address));
  const auto* p = reinterpret_cast<const unsigned char*>(entry.der.data());
  const unsigned char* const end = p + entry.der.size();
  X509Ptr certificate(d2i_X509(nullptr, &p, static_cast<long>(entry.der.size())));
  if (certificate == nullptr || p != end) {
    return absl::InvalidArgumentError(
        absl::StrCat("the certificate for ", address, " is not exactly one DER certificate"));
  }
  // Usage, selector 0 (the whole certificate), matching type 0 (no hash).
  const std::string rdata =
      absl::StrCat(std::string{static_cast<char>(options.usage), 0, 0}, entry.der);
  const std::string owner = SmimeaOwnerName(address);
  if (options.generic_syntax) {
    return absl::StrCat(owner, " ", options.ttl, " IN TYPE53 \\# ", rdata.size(), " ",
                        absl::BytesToHexString(rdata), "\n");
  }
  return absl::StrCat(owner, " ", options.ttl, " IN SMIMEA ", options.usage, " 0 0 ",
                      absl::AsciiStrToUpper(absl::BytesToHexString(entry.der)), "\n");
}

absl::StatusOr<std::string> SmimeaZoneRecords(const std::vector<SmimeaExportEntry>& entries,
                                              const SmimeaExportOptions& options) {
  std::string lines;
  for (const SmimeaExportEntry& entry : entries) {
    ASSIGN_OR_RETURN(const std::string line, SmimeaZoneRecord(entry, options));
    lines += line;
  }
  return lines;
}

}  // namespace signet::directory
