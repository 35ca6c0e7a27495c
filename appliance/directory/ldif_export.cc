#include "appliance/directory/ldif_export.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <map>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "appliance/directory/email_address.h"
#include "common/ossl_ptr.h"
#include "common/status_macros.h"

namespace signet::directory {
namespace {

constexpr size_t kLineWidth = 76;

// RFC 2849 SAFE-STRING: no NUL, LF, CR or non-ASCII byte, and no leading
// space, ':' or '<'. An empty value is safe.
bool IsSafeString(absl::string_view value) {
  if (!value.empty() && (value[0] == ' ' || value[0] == ':' || value[0] == '<')) return false;
  // A trailing space is legal but lost by some parsers.
  if (!value.empty() && value.back() == ' ') return false;
  for (char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte == 0 || byte == '\n' || byte == '\r' || byte > 0x7f) return false;
  }
  return true;
}

std::string Base64(absl::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                     reinterpret_cast<const unsigned char*>(bytes.data()),
                                     static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(length));
  return out;
}

// "name: value" or "name:: base64", folded: continuation lines start with
// one space (RFC 2849 note 2).
void AppendLine(std::string& out, absl::string_view name, absl::string_view value,
                bool force_base64 = false) {
  std::string line = force_base64 || !IsSafeString(value) ? absl::StrCat(name, ":: ", Base64(value))
                                                          : absl::StrCat(name, ": ", value);
  size_t position = 0;
  size_t width = kLineWidth;
  while (line.size() - position > width) {
    absl::StrAppend(&out, absl::string_view(line).substr(position, width), "\n ");
    position += width;
    width = kLineWidth - 1;
  }
  absl::StrAppend(&out, absl::string_view(line).substr(position), "\n");
}

std::string CommonName(X509* certificate) {
  X509_NAME* subject = X509_get_subject_name(certificate);
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) return {};
  unsigned char* utf8 = nullptr;
  const int length =
      ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index)));
  if (length <= 0) return {};
  std::string name(reinterpret_cast<const char*>(utf8), static_cast<size_t>(length));
  OPENSSL_free(utf8);
  // A CN with a NUL in it is no name to show.
  if (name.find('\0') != std::string::npos) return {};
  return name;
}

struct AddressEntry {
  std::string common_name;
  std::vector<std::string> certificates;
};

}  // namespace

std::string EscapeDnValue(absl::string_view value) {
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '\0') {
      out += "\\00";
      continue;
    }
    const bool special = c == '"' || c == '+' || c == ',' || c == ';' || c == '<' || c == '>' ||
                         c == '\\' || c == '=';
    const bool edge = (i == 0 && (c == '#' || c == ' ')) || (i + 1 == value.size() && c == ' ');
    if (special || edge) out += '\\';
    out += c;
  }
  return out;
}

absl::StatusOr<LdifExport> ExportLdif(const std::vector<std::string>& certificates_der,
                                      absl::string_view base_dn) {
  if (base_dn.empty()) return absl::InvalidArgumentError("no base DN for the LDIF export");
  LdifExport result;
  std::map<std::string, AddressEntry> entries;
  for (size_t i = 0; i < certificates_der.size(); ++i) {
    const std::string& der = certificates_der[i];
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    X509Ptr certificate(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (certificate == nullptr ||
        p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("certificate ", i + 1, " of ", certificates_der.size(), " does not parse"));
    }
    ASSIGN_OR_RETURN(std::vector<std::string> addresses, CertificateAddresses(certificate.get()));
    if (addresses.empty()) {
      ++result.without_address;
      continue;
    }
    const std::string common_name = CommonName(certificate.get());
    for (const std::string& address : addresses) {
      AddressEntry& entry = entries[address];
      if (entry.certificates.empty())
        entry.common_name = common_name.empty() ? address : common_name;
      bool known = false;
      for (const std::string& have : entry.certificates) known = known || have == der;
      if (!known) entry.certificates.push_back(der);
    }
  }
  for (const auto& [address, entry] : entries) {
    if (!result.ldif.empty()) result.ldif += "\n";
    AppendLine(result.ldif, "dn", absl::StrCat("mail=", EscapeDnValue(address), ",", base_dn));
    AppendLine(result.ldif, "objectClass", "inetOrgPerson");
    AppendLine(result.ldif, "cn", entry.common_name);
    AppendLine(result.ldif, "sn", entry.common_name);
    AppendLine(result.ldif, "mail", address);
    for (const std::string& der : entry.certificates) {
      AppendLine(result.ldif, "userCertificate;binary", der, /*force_base64=*/true);
    }
  }
  result.entries = entries.size();
  return result;
}

}  // namespace signet::directory
