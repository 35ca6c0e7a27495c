#include "appliance/directory/email_address.h"

#include <openssl/x509v3.h>

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace signet::directory {
namespace {

// RFC 5322 atext.
bool IsAtext(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != absl::string_view::npos;
}

bool IsDotAtom(absl::string_view text) {
  if (text.empty() || text.front() == '.' || text.back() == '.') return false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '.') {
      if (text[i + 1] == '.') return false;
    } else if (!IsAtext(text[i])) {
      return false;
    }
  }
  return true;
}

bool IsLdhLabel(absl::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
    return false;
  }
  return std::all_of(label.begin(), label.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-';
  });
}

absl::Status Invalid(absl::string_view address, absl::string_view why) {
  std::string shown(address.substr(0, 64));
  // Never echo control bytes into a log line or an error.
  for (char& c : shown) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  }
  return absl::InvalidArgumentError(absl::StrCat("\"", shown, address.size() > 64 ? "...\"" : "\"",
                                                 " is not an e-mail address: ", why));
}

}  // namespace

absl::StatusOr<std::string> NormalizeAddress(absl::string_view address) {
  if (address.empty()) return Invalid(address, "it is empty");
  if (address.size() > 254) return Invalid(address, "it is longer than 254 bytes");
  const size_t at = address.find('@');
  if (at == absl::string_view::npos) return Invalid(address, "it has no '@'");
  if (address.find('@', at + 1) != absl::string_view::npos) {
    return Invalid(address, "it has more than one '@'");
  }
  const absl::string_view local = address.substr(0, at);
  const absl::string_view domain = address.substr(at + 1);
  if (local.size() > 64) return Invalid(address, "its local part is longer than 64 bytes");
  if (!IsDotAtom(local)) {
    return Invalid(address, "its local part is not a dot-atom (RFC 5322 section 3.2.3)");
  }
  const std::vector<absl::string_view> labels = absl::StrSplit(domain, '.');
  if (labels.size() < 2) return Invalid(address, "its domain has fewer than two labels");
  for (absl::string_view label : labels) {
    if (!IsLdhLabel(label)) {
      return Invalid(address, "its domain is not dot-separated letters, digits and hyphens");
    }
  }
  return absl::AsciiStrToLower(address);
}

absl::StatusOr<std::vector<std::string>> CertificateAddresses(X509* certificate) {
  std::vector<std::string> addresses;
  auto add = [&](absl::string_view candidate) -> absl::Status {
    absl::StatusOr<std::string> normal = NormalizeAddress(candidate);
    if (!normal.ok()) return absl::OkStatus();
    if (std::find(addresses.begin(), addresses.end(), *normal) != addresses.end()) {
      return absl::OkStatus();
    }
    if (addresses.size() == kMaxAddressesPerCertificate) {
      return absl::InvalidArgumentError(
          absl::StrCat("the certificate names more than ", kMaxAddressesPerCertificate,
                       " e-mail addresses; it is refused rather than partly indexed"));
    }
    addresses.push_back(*std::move(normal));
    return absl::OkStatus();
  };

  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
  absl::Status status;
  for (int i = 0; names != nullptr && status.ok() && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_EMAIL) continue;
    const ASN1_IA5STRING* text = name->d.rfc822Name;
    status = add(absl::string_view(reinterpret_cast<const char*>(text->data), text->length));
  }
  GENERAL_NAMES_free(names);
  if (!status.ok()) return status;

  const X509_NAME* subject = X509_get_subject_name(certificate);
  for (int i = X509_NAME_get_index_by_NID(subject, NID_pkcs9_emailAddress, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(subject, NID_pkcs9_emailAddress, i)) {
    const ASN1_STRING* text = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
    if (absl::Status added = add(absl::string_view(
            reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)), ASN1_STRING_length(text)));
        !added.ok()) {
      return added;
    }
  }
  return addresses;
}

}  // namespace signet::directory
