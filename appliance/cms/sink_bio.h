// The frame of the write-only BIOs Signet gives OpenSSL to write a result
// into where it should end up (a string, the buffer a ciphertext lies in):
// each write goes to one function, which finds its state with
// BIO_get_data and writes it at once, so a flush has nothing to do and
// succeeds; nothing else (reads, seeks) is supported. The functions are
// string_sink_bio.h's, in_place_sink_bio.h's and EncryptInPlace's.
#ifndef SIGNET_APPLIANCE_CMS_SINK_BIO_H_
#define SIGNET_APPLIANCE_CMS_SINK_BIO_H_

#include <openssl/bio.h>

#include <cstddef>

#include "common/ossl_ptr.h"

namespace signet::cms {

// BIO_meth_set_write_ex's function: `length` bytes at `data`; sets
// `*written` and returns 1, or returns 0 when it cannot take them.
using SinkWrite = int (*)(BIO* bio, const char* data, size_t length, size_t* written);

// A method named `name` whose writes go to `write`; null when OpenSSL
// cannot allocate it. Made once per kind of sink (kept in a static).
const BIO_METHOD* NewSinkMethod(const char* name, SinkWrite write);

// A BIO of `method` (from NewSinkMethod) over `state`, which must outlive
// it; null when OpenSSL cannot allocate it or `method` is null.
BioPtr NewSinkBio(const BIO_METHOD* method, void* state);

}  // namespace signet::cms

#endif  // SIGNET_APPLIANCE_CMS_SINK_BIO_H_
