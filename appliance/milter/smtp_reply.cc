#include "appliance/milter/smtp_reply.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace signet::milter {

std::string ReplySafe(absl::string_view text) {
  std::string safe;
  safe.reserve(text.size());
  for (char c : text) {
    if (c == '%') {
      safe.append("%%");
    } else if (static_cast<unsigned char>(c) < ' ' || c == 0x7f) {
      safe.push_back('?');
    } else {
      safe.push_back(c);
    }
  }
  return safe;
}

std::string NameRecipients(const std::vector<std::string>& recipients, size_t unnamed,
                           size_t budget) {
  std::string text;
  size_t named = 0;
  for (const std::string& recipient : recipients) {
    const std::string safe = ReplySafe(recipient);
    const std::string separator = named == 0 ? "" : ", ";
    // Room for the longest tail: " and 18446744073709551615 more".
    constexpr size_t kTail = 32;
    if (text.size() + separator.size() + safe.size() + kTail > budget) break;
    absl::StrAppend(&text, separator, safe);
    ++named;
  }
  const size_t total = recipients.size() + unnamed;
  if (named == 0 && total > 0) {
    absl::StrAppend(&text, total, " recipients");
  } else if (named < total) {
    absl::StrAppend(&text, " and ", total - named, " more");
  }
  return text;
}

std::string MissingCertificateReply(const std::vector<std::string>& recipients, size_t unnamed) {
  constexpr absl::string_view kPrefix = "policy requires encryption; no S/MIME certificate for ";
  return absl::StrCat(kPrefix, NameRecipients(recipients, unnamed, kMaxReplyText - kPrefix.size()));
}

std::string TooLargeReply(uint64_t max_message_bytes) {
  return absl::StrCat("message too large for signet-milter (limit ", max_message_bytes, " bytes)");
}

}  // namespace signet::milter
