// ASN.1 values as text for reports and logs: an INTEGER in hex (serial
// numbers), an OBJECT IDENTIFIER in dotted form (policies).
#ifndef SIGNET_COMMON_ASN1_TEXT_H_
#define SIGNET_COMMON_ASN1_TEXT_H_

#include <openssl/asn1.h>

#include <string>

namespace signet {

// Upper-case hex ("1A2B", "-05"); empty for null or one that cannot be read.
std::string IntegerHex(const ASN1_INTEGER* integer);

// "1.3.6.1.4.1.99999.1", never a name; empty for null or one too long.
std::string DottedOid(const ASN1_OBJECT* object);

}  // namespace signet

#endif  // SIGNET_COMMON_ASN1_TEXT_H_
