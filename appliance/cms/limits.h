// Bounds on every input the CMS engine parses, so that a hostile mail is
// refused quickly and with a clear error instead of exhausting memory, time
// or stack (docs/architecture.md, decision D16: every parser is bounded and fuzzed).
#ifndef SIGNET_APPLIANCE_CMS_LIMITS_H_
#define SIGNET_APPLIANCE_CMS_LIMITS_H_

#include <cstddef>

namespace signet::cms {

struct Limits {
  // A whole mail (or MIME entity) as given to any operation.
  std::size_t max_message_bytes = std::size_t{64} << 20;
  // Multiparts (and message/rfc822 bodies) inside each other; the top-level
  // entity is depth 0.
  int max_mime_depth = 32;
  // Constructed BER/DER values inside each other in a CMS structure. Real
  // messages stay below 20; OpenSSL itself stops at about 30 templates.
  int max_asn1_depth = 48;
  // Header fields in one header block, and parts in one multipart.
  int max_header_fields = 1000;
  int max_parts = 1000;
};

}  // namespace signet::cms

#endif  // SIGNET_APPLIANCE_CMS_LIMITS_H_
