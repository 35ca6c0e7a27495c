// RFC 3161 (section 2.4.2) PKIStatus values and PKIFailureInfo bits by
// name, as the TSA's replies, the TSA client and the CLI report them.
#ifndef SIGNET_COMMON_PKI_STATUS_NAMES_H_
#define SIGNET_COMMON_PKI_STATUS_NAMES_H_

#include <openssl/asn1.h>

#include <string>
#include <vector>

namespace signet {

// "granted", "grantedWithMods", "rejection", ...; "status N" for others.
std::string PkiStatusName(long status);

// The names of the failure bits set, in bit order ("badAlg",
// "unacceptedPolicy"); bits RFC 3161 does not name are left out. Empty for
// null.
std::vector<std::string> PkiFailureNames(const ASN1_BIT_STRING* bits);

}  // namespace signet

#endif  // SIGNET_COMMON_PKI_STATUS_NAMES_H_
