#include "appliance/cms/string_sink_bio.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <new>

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

long Control(BIO* /*bio*/, int command, long /*number*/, void* /*pointer*/) {
  // Writes land in the string at once: there is nothing to flush.
  return command == BIO_CTRL_FLUSH ? 1 : 0;
}

const BIO_METHOD* StringSinkMethod() {
  static const BIO_METHOD* const method = [] {
    BIO_METHOD* created =
        BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "signet string sink");
    if (created != nullptr) {
      BIO_meth_set_write_ex(created, Write);
      BIO_meth_set_ctrl(created, Control);
    }
    return created;
  }();
  return method;
}

}  // namespace

BioPtr NewStringSinkBio(std::string* out) {
  const BIO_METHOD* method = StringSinkMethod();
  if (method == nullptr) return nullptr;
  BioPtr bio(BIO_new(method));
  if (!bio) return nullptr;
  BIO_set_data(bio.get(), out);
  BIO_set_init(bio.get(), 1);
  return bio;
}

void WipeString(std::string* text) {
  if (!text->empty()) OPENSSL_cleanse(text->data(), text->size());
  text->clear();
}

}  // namespace signet::cms
