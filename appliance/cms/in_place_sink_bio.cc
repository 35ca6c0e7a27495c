#include "appliance/cms/in_place_sink_bio.h"

#include <cstring>

#include "appliance/cms/sink_bio.h"

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

}  // namespace

BioPtr NewInPlaceSinkBio(InPlaceSink* sink) {
  static const BIO_METHOD* const method = NewSinkMethod("signet in-place sink", Write);
  return NewSinkBio(method, sink);
}

}  // namespace signet::cms
