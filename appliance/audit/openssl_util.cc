#include "appliance/audit/openssl_util.h"

#include <openssl/err.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace signet::audit {

absl::Status OpenSslError(absl::StatusCode status_code, absl::string_view what) {
  std::string reasons;
  // Bounded: a pathological queue must not make an unbounded message.
  for (int i = 0; i < 8; ++i) {
    unsigned long code = ERR_get_error();
    if (code == 0) break;
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    absl::StrAppend(&reasons, reasons.empty() ? "" : "; ", buffer);
  }
  ERR_clear_error();
  return absl::Status(
      status_code, absl::StrCat(what, ": ", reasons.empty() ? "OpenSSL gave no reason" : reasons));
}

}  // namespace signet::audit
