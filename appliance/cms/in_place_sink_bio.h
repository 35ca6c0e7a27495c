// A write-only BIO for content decrypted over the ciphertext it comes
// from: a large message's plaintext written into the buffer that holds its
// ciphertext, instead of into a second buffer as large.
//
// The ciphertext is read, ahead of the writes, by a read-only memory BIO
// over the same buffer (`source`). Every write is checked against how far
// that BIO has read: a write that would reach a byte not yet read fails
// (and `overtook` says so) rather than destroy ciphertext. Decryption never
// gives more plaintext than it has read ciphertext (a block cipher holds
// back, GCM gives as much), so a write that starts at or before the
// ciphertext never fails this way.
#ifndef SIGNET_APPLIANCE_CMS_IN_PLACE_SINK_BIO_H_
#define SIGNET_APPLIANCE_CMS_IN_PLACE_SINK_BIO_H_

#include <openssl/bio.h>

#include <cstddef>

#include "common/ossl_ptr.h"

namespace signet::cms {

struct InPlaceSink {
  // Where the first byte goes.
  char* out = nullptr;
  // The ciphertext the source BIO reads, and that BIO (not owned).
  const char* source_begin = nullptr;
  size_t source_size = 0;
  BIO* source = nullptr;
  // Bytes written so far.
  size_t written = 0;
  // A write was refused because it would have overtaken the reads.
  bool overtook = false;
};

// Null when OpenSSL cannot allocate the BIO. `sink` must outlive it.
BioPtr NewInPlaceSinkBio(InPlaceSink* sink);

}  // namespace signet::cms

#endif  // SIGNET_APPLIANCE_CMS_IN_PLACE_SINK_BIO_H_
