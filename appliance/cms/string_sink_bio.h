// A write-only BIO that appends to a std::string the caller owns, for CMS
// output that ends up in a string anyway (a decrypted mail): written where
// it stays, with no BIO buffer to grow, copy and copy out again.
//
// Decrypted content is confidential until it is authenticated: when a write
// outgrows the string's capacity, the bytes move to a larger string and the
// old one is wiped, so no copy is left behind; a caller that gives up wipes
// the string with WipeString. Reserving the expected size first avoids the
// move altogether.
#ifndef SIGNET_APPLIANCE_CMS_STRING_SINK_BIO_H_
#define SIGNET_APPLIANCE_CMS_STRING_SINK_BIO_H_

#include <string>

#include "common/ossl_ptr.h"

namespace signet::cms {

// Null when OpenSSL cannot allocate the BIO. `out` must outlive it.
BioPtr NewStringSinkBio(std::string* out);

// Overwrites the string's bytes, then empties it.
void WipeString(std::string* text);

}  // namespace signet::cms

#endif  // SIGNET_APPLIANCE_CMS_STRING_SINK_BIO_H_
