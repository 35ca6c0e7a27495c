#include "appliance/cli/pem.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace signet::cli {

absl::StatusOr<std::vector<std::string>> PemBlocks(absl::string_view text,
                                                   absl::string_view label) {
  const std::string begin = absl::StrCat("-----BEGIN ", label, "-----");
  const std::string end = absl::StrCat("-----END ", label, "-----");
  std::vector<std::string> blocks;
  for (size_t at = text.find(begin); at != absl::string_view::npos; at = text.find(begin, at)) {
    const size_t body = at + begin.size();
    const size_t stop = text.find(end, body);
    if (stop == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("a ", label, " block is not closed"));
    }
    std::string base64;
    for (char c : text.substr(body, stop - body)) {
      if (!absl::ascii_isspace(static_cast<unsigned char>(c))) base64.push_back(c);
    }
    std::string der;
    if (base64.empty() || !absl::Base64Unescape(base64, &der)) {
      return absl::InvalidArgumentError(absl::StrCat("a ", label, " block is not valid base64"));
    }
    blocks.push_back(std::move(der));
    at = stop + end.size();
  }
  return blocks;
}

absl::StatusOr<std::string> CertificateDer(absl::string_view contents, absl::string_view name) {
  if (contents.find("-----BEGIN") != absl::string_view::npos) {
    absl::StatusOr<std::vector<std::string>> blocks = PemBlocks(contents, "CERTIFICATE");
    if (!blocks.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": ", blocks.status().message()));
    }
    if (blocks->empty()) {
      return absl::InvalidArgumentError(absl::StrCat(name, " holds no PEM CERTIFICATE"));
    }
    return std::move(blocks->front());
  }
  // DER: an X.509 certificate is a SEQUENCE. The daemon parses it fully.
  if (contents.size() > 2 && static_cast<unsigned char>(contents[0]) == 0x30) {
    return std::string(contents);
  }
  return absl::InvalidArgumentError(absl::StrCat(name, " is not a certificate (PEM or DER)"));
}

std::string PemEncode(absl::string_view label, absl::string_view der) {
  const std::string base64 = absl::Base64Escape(der);
  std::string pem = absl::StrCat("-----BEGIN ", label, "-----\n");
  for (size_t at = 0; at < base64.size(); at += 64) {
    absl::StrAppend(&pem, absl::string_view(base64).substr(at, 64), "\n");
  }
  absl::StrAppend(&pem, "-----END ", label, "-----\n");
  return pem;
}

}  // namespace signet::cli
