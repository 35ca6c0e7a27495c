#include "appliance/cms/sink_bio.h"

namespace signet::cms {
namespace {

long Control(BIO* /*bio*/, int command, long /*number*/, void* /*pointer*/) {
  // Writes land at once: there is nothing to flush.
  return command == BIO_CTRL_FLUSH ? 1 : 0;
}

}  // namespace

const BIO_METHOD* NewSinkMethod(const char* name, SinkWrite write) {
  BIO_METHOD* method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, name);
  if (method == nullptr) return nullptr;
  if (BIO_meth_set_write_ex(method, write) != 1 || BIO_meth_set_ctrl(method, Control) != 1) {
    BIO_meth_free(method);
    return nullptr;
  }
  return method;
}

BioPtr NewSinkBio(const BIO_METHOD* method, void* state) {
  if (method == nullptr) return nullptr;
  BioPtr bio(BIO_new(method));
  if (!bio) return nullptr;
  BIO_set_data(bio.get(), state);
  BIO_set_init(bio.get(), 1);
  return bio;
}

}  // namespace signet::cms
