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

std::string MissingCertificateReply(const std::vector<std::string>& recipients) {
  std::string text = "policy requires encryption; no S/MIME certificate for ";
  size_t named = 0;
  for (const std::string& recipient : recipients) {
    const std::string safe = ReplySafe(recipient);
    const std::string separator = named == 0 ? "" : ", ";
    // Room for the longest tail: " and 4294967295 more".
    constexpr size_t kTail = 32;
    if (text.size() + separator.size() + safe.size() + kTail > kMaxReplyText) break;
    absl::StrAppend(&text, separator, safe);
    ++named;
  }
  if (named == 0 && !recipients.empty()) {
    absl::StrAppend(&text, recipients.size(), " recipients");
  } else if (named < recipients.size()) {
    absl::StrAppend(&text, " and ", recipients.size() - named, " more");
  }
  return text;
}

std::string TooLargeReply(uint64_t max_message_bytes) {
  return absl::StrCat("message too large for signet-milter (limit ", max_message_bytes, " bytes)");
}

}  // namespace signet::milter
