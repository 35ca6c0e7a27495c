#include "common/openssl_error.h"

#include <openssl/err.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace signet {

absl::Status OpenSslError(absl::StatusCode status_code, absl::string_view what) {
  std::string reasons;
  // Bounded: a pathological queue must not make an unbounded message.
  for (int i = 0; i < 8; ++i) {
    const char* data = nullptr;
    int flags = 0;
    unsigned long code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags);
    if (code == 0) break;
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    // The text a provider attached (Signet's own say what the token did).
    const bool has_text = (flags & ERR_TXT_STRING) && data != nullptr && *data != '\0';
    absl::StrAppend(&reasons, reasons.empty() ? "" : "; ", buffer, has_text ? ": " : "",
                    has_text ? data : "");
  }
  ERR_clear_error();
  return absl::Status(
      status_code,
      absl::StrCat(what, ": ", reasons.empty() ? "OpenSSL reported no reason" : reasons));
}

}  // namespace signet
