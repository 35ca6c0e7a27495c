#include "appliance/milter/addresses.h"

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "appliance/directory/email_address.h"

namespace signet::milter {

absl::string_view StripAngleBrackets(absl::string_view address) {
  address = absl::StripAsciiWhitespace(address);
  if (address.size() >= 2 && address.front() == '<' && address.back() == '>') {
    address = absl::StripAsciiWhitespace(address.substr(1, address.size() - 2));
  }
  return address;
}

absl::StatusOr<std::string> NormalizeDomain(absl::string_view domain) {
  // A fixed, valid local part lets the directory's address rules judge the
  // domain alone.
  constexpr absl::string_view kLocalPart = "postmaster@";
  absl::StatusOr<std::string> address =
      directory::NormalizeAddress(absl::StrCat(kLocalPart, domain));
  if (!address.ok() || domain.find('@') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", domain.substr(0, 64), "\" is not a domain name"));
  }
  return address->substr(kLocalPart.size());
}

absl::StatusOr<std::string> NormalizeRuleKey(absl::string_view key) {
  if (key == kAnyDomain) return std::string(kAnyDomain);
  if (key.find('@') != absl::string_view::npos) return directory::NormalizeAddress(key);
  return NormalizeDomain(key);
}

std::string DomainOf(absl::string_view address) {
  const size_t at = address.rfind('@');
  if (at == absl::string_view::npos) return "";
  return absl::AsciiStrToLower(address.substr(at + 1));
}

}  // namespace signet::milter
