// CMS_final for content already in memory, without its two costs on a
// large mail: CMS_final copies the content 1 KiB at a time through a
// buffer BIO, and collects attached output (the ciphertext of an
// EnvelopedData, the content of an attached SignedData) in a memory BIO
// that grows by a third at a time, copying and wiping all of it each step.
// Here the content goes in large writes and the output into a buffer
// reserved once. The bytes are those CMS_final with CMS_BINARY makes.
#ifndef SIGNET_APPLIANCE_CMS_CMS_CONTENT_H_
#define SIGNET_APPLIANCE_CMS_CMS_CONTENT_H_

#include <openssl/cms.h>

#include <cstddef>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace signet::cms {

// `output_bytes`: what the structure will hold of the content (its size for
// an attached SignedData, its size plus a block for a ciphertext); 0 for
// detached content, which is only digested. False when OpenSSL fails, its
// reasons left on the error queue, as CMS_final.
bool FinishWithContent(CMS_ContentInfo* cms, absl::string_view content, size_t output_bytes);
// The same for content that is `pieces` joined, written one after the
// other without joining them.
bool FinishWithContentPieces(CMS_ContentInfo* cms, absl::Span<const absl::string_view> pieces,
                             size_t output_bytes);
// The same with the output (a detached EnvelopedData's ciphertext) going to
// `sink`, which stays the caller's.
bool FinishWithContentInto(CMS_ContentInfo* cms, absl::Span<const absl::string_view> pieces,
                           BIO* sink);

}  // namespace signet::cms

#endif  // SIGNET_APPLIANCE_CMS_CMS_CONTENT_H_
