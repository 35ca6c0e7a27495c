#include "appliance/cms/cms_content.h"

#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/crypto.h>

#include <algorithm>

#include "common/huge_pages.h"
#include "common/ossl_ptr.h"

namespace signet::cms {
namespace {

// What CMS_final does with the chain CMS_dataInit made: frees it down to
// the caller's sink, which stays the caller's.
void FreeUpTo(BIO* chain, BIO* sink) {
  if (sink == nullptr) {
    BIO_free_all(chain);
    return;
  }
  while (chain != nullptr && chain != sink) {
    BIO* next = BIO_pop(chain);
    BIO_free(chain);
    chain = next;
  }
}

}  // namespace

bool FinishWithContent(CMS_ContentInfo* cms, absl::string_view content, size_t output_bytes) {
  return FinishWithContentPieces(cms, {content}, output_bytes);
}

bool FinishWithContentPieces(CMS_ContentInfo* cms, absl::Span<const absl::string_view> pieces,
                             size_t output_bytes) {
  BioPtr sink;
  if (output_bytes > 0) {
    // A memory BIO, as CMS makes for attached output, over a buffer of the
    // final size: CMS_dataFinal hands its bytes to the structure as they
    // are, without a copy.
    // Allocated here rather than by BUF_MEM_grow, which zeroes it: its
    // pages are touched first by the output, after the huge-page advice.
    BUF_MEM* buffer = BUF_MEM_new();
    char* data = buffer != nullptr ? static_cast<char*>(OPENSSL_malloc(output_bytes)) : nullptr;
    if (data == nullptr) {
      BUF_MEM_free(buffer);
      return false;
    }
    AdviseHugePages(data, output_bytes);
    buffer->data = data;
    buffer->max = output_bytes;
    buffer->length = 0;
    sink.reset(BIO_new(BIO_s_mem()));
    if (!sink) {
      BUF_MEM_free(buffer);
      return false;
    }
    BIO_set_mem_buf(sink.get(), buffer, BIO_CLOSE);
  }
  return FinishWithContentInto(cms, pieces, sink.get());
}

bool FinishWithContentInto(CMS_ContentInfo* cms, absl::Span<const absl::string_view> pieces,
                           BIO* sink) {
  BIO* chain = CMS_dataInit(cms, sink);
  if (chain == nullptr) return false;
  bool ok = true;
  constexpr size_t kPiece = size_t{1} << 20;
  for (const absl::string_view content : pieces) {
    for (size_t done = 0; done < content.size() && ok;) {
      const size_t piece = std::min(kPiece, content.size() - done);
      size_t written = 0;
      if (BIO_write_ex(chain, content.data() + done, piece, &written) != 1 || written != piece) {
        ok = false;
      }
      done += piece;
    }
  }
  if (ok) {
    // As CMS_final: the flush finishes the cipher; CMS_dataFinal says
    // whether all went well.
    (void)BIO_flush(chain);
    ok = CMS_dataFinal(cms, chain) == 1;
  }
  FreeUpTo(chain, sink);
  return ok;
}

}  // namespace signet::cms
