#include "appliance/cms/string_sink_bio.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <new>

#include "appliance/cms/sink_bio.h"
#include "common/huge_pages.h"

namespace signet::cms {
namespace {

int Write(BIO* bio, const char* data, size_t length, size_t* written) {
  auto* out = static_cast<std::string*>(BIO_get_data(bio));
  // OpenSSL is C: nothing may be thrown through it.
  try {
    if (out->size() + length > out->capacity()) {
      std::string larger;
      ReserveLarge(&larger, std::max(out->capacity() * 2, out->size() + length));
      larger.append(*out);
      WipeString(out);
      out->swap(larger);
    }
    out->append(data, length);
  } catch (const std::bad_alloc&) {
    return 0;
  }
  *written = length;
  return 1;
}

}  // namespace

BioPtr NewStringSinkBio(std::string* out) {
  static const BIO_METHOD* const method = NewSinkMethod("signet string sink", Write);
  return NewSinkBio(method, out);
}

void WipeString(std::string* text) {
  if (!text->empty()) OPENSSL_cleanse(text->data(), text->size());
  text->clear();
}

}  // namespace signet::cms
