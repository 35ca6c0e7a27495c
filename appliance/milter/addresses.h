// Addresses and domains as the milter's rules name them and the MTA hands
// them over, normalized as the certificate directory keys them
// (appliance/directory/email_address.h): lower case, so that comparisons
// ignore ASCII case.
#ifndef SIGNET_APPLIANCE_MILTER_ADDRESSES_H_
#define SIGNET_APPLIANCE_MILTER_ADDRESSES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace signet::milter {

// The rule key that matches every domain.
inline constexpr absl::string_view kAnyDomain = "*";

// An envelope address as libmilter gives it ("<a@b.example>", or "a@b" from
// Sendmail), without the angle brackets and surrounding blanks. "<>" (the
// null sender of bounces) is "".
absl::string_view StripAngleBrackets(absl::string_view address);

// A domain lower-cased; INVALID_ARGUMENT unless it is dot-separated LDH
// labels, at least two, as in a normalized address.
absl::StatusOr<std::string> NormalizeDomain(absl::string_view domain);

// What a rule entry names: an address (with '@'), a domain, or kAnyDomain,
// normalized. INVALID_ARGUMENT for anything else.
absl::StatusOr<std::string> NormalizeRuleKey(absl::string_view key);

// The part after the last '@', lower-cased; "" without one. Used on
// envelope addresses that may not normalize (a local "root"), so that they
// still fall under the "*" rules.
std::string DomainOf(absl::string_view address);

}  // namespace signet::milter

#endif  // SIGNET_APPLIANCE_MILTER_ADDRESSES_H_
