// The bank's published certificates as LDIF (RFC 2849) an operator loads
// into the bank's directory with ldapadd or slapadd, so that correspondents
// whose mail clients look recipients up in LDAP (RFC 4523) find them: one
// inetOrgPerson entry per e-mail address, below a base DN that must exist.
#ifndef SIGNET_APPLIANCE_DIRECTORY_LDIF_EXPORT_H_
#define SIGNET_APPLIANCE_DIRECTORY_LDIF_EXPORT_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace signet::directory {

struct LdifExport {
  std::string ldif;
  size_t entries = 0;
  // Certificates with no e-mail address (CertificateAddresses), left out.
  size_t without_address = 0;
};

// For every address of the certificates (DER X.509), in address order:
//
//   dn: mail=<address>,<base_dn>
//   objectClass: inetOrgPerson
//   cn: <the subject CN of the address's first certificate, else the address>
//   sn: <the same>
//   mail: <address>
//   userCertificate;binary:: <base64 DER>   (each certificate, once)
//
// The address is escaped for the DN as RFC 4514 says ('+', '=', a leading
// '#' and the like); values that are not RFC 2849 SAFE-STRINGs (a UTF-8 CN,
// say) are written base64; lines are folded at 76 columns. The base DN's
// own entry is not written. There is no "version: 1" line: slapadd (2.5)
// refuses the file with one, and ldapadd reads it the same without. InvalidArgument for an empty
// base DN or a certificate that does not parse (saying which, by position).
absl::StatusOr<LdifExport> ExportLdif(const std::vector<std::string>& certificates_der,
                                      absl::string_view base_dn);

// An RFC 4514 attribute value: '"', '+', ',', ';', '<', '>', '\', '=' and a
// leading '#' or space or a trailing space backslash-escaped, NUL as \00.
std::string EscapeDnValue(absl::string_view value);

}  // namespace signet::directory

#endif  // SIGNET_APPLIANCE_DIRECTORY_LDIF_EXPORT_H_
