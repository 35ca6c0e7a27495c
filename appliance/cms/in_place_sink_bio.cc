#include "appliance/cms/in_place_sink_bio.h"

#include <cstring>

namespace signet::cms {
namespace {

int Write(BIO* bio, const char* data, size_t length, size_t* written) {
  auto* sink = static_cast<InPlaceSink*>(BIO_get_data(bio));
  // How far the source has read: what lies before that may be overwritten.
  const size_t unread = BIO_ctrl_pending(sink->source);
  if (unread > sink->source_size) {
    sink->overtook = true;
    return 0;
  }
  const char* const read_up_to = sink->source_begin + (sink->source_size - unread);
  char* const at = sink->out + sink->written;
  if (at > read_up_to || length > static_cast<size_t>(read_up_to - at)) {
    sink->overtook = true;
    return 0;
  }
  // OpenSSL hands over bytes from its own buffer; memmove all the same.
  std::memmove(at, data, length);
  sink->written += length;
  *written = length;
  return 1;
}

long Control(BIO* /*bio*/, int command, long /*number*/, void* /*pointer*/) {
  return command == BIO_CTRL_FLUSH ? 1 : 0;
}

const BIO_METHOD* InPlaceSinkMethod() {
  static const BIO_METHOD* const method = [] {
    BIO_METHOD* created =
        BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "signet in-place sink");
    if (created != nullptr) {
      BIO_meth_set_write_ex(created, Write);
      BIO_meth_set_ctrl(created, Control);
    }
    return created;
  }();
  return method;
}

}  // namespace

BioPtr NewInPlaceSinkBio(InPlaceSink* sink) {
  const BIO_METHOD* method = InPlaceSinkMethod();
  if (method == nullptr) return nullptr;
  BioPtr bio(BIO_new(method));
  if (!bio) return nullptr;
  BIO_set_data(bio.get(), sink);
  BIO_set_init(bio.get(), 1);
  return bio;
}

}  // namespace signet::cms
