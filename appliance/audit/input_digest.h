// The SHA-256 of an operation's input, which is all the audit log keeps of
// it: enough to match a record to a mail someone still has, nothing of the
// content (nor of a PIN or key a caller might send).
#ifndef SIGNET_APPLIANCE_AUDIT_INPUT_DIGEST_H_
#define SIGNET_APPLIANCE_AUDIT_INPUT_DIGEST_H_

#include <string>

#include "absl/strings/string_view.h"
#include "common/openssl_error.h"
#include "common/ossl_ptr.h"

namespace signet::audit {

// SHA-256 of `input` (32 bytes).
std::string InputDigest(absl::string_view input);

// The same for an input that arrives in chunks (a streamed mail).
class InputDigester {
 public:
  InputDigester();
  void Update(absl::string_view chunk);
  // The digest of everything given; the digester starts over afterwards.
  std::string Finish();

 private:
  EvpMdCtxPtr context_;
};

}  // namespace signet::audit

#endif  // SIGNET_APPLIANCE_AUDIT_INPUT_DIGEST_H_
