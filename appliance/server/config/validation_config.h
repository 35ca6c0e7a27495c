// The configuration's `validation` section: its checks (part of
// ValidateConfig) and the revocation and policy settings it makes
// (pki::ValidationPolicy), with their defaults.
#ifndef SIGNET_APPLIANCE_SERVER_CONFIG_VALIDATION_CONFIG_H_
#define SIGNET_APPLIANCE_SERVER_CONFIG_VALIDATION_CONFIG_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "appliance/pki/validation_policy.h"
#include "signet/config/v1/config.pb.h"

namespace signet::server {

// What is wrong with the section, as (where, what) pairs; its paths are
// ValidateConfig's to check, as every path of the config is.
std::vector<std::pair<std::string, std::string>> ValidationProblems(
    const config::v1::Validation& validation);

// The policy the section asks for, with its CRL store (the CRL files read
// now: InvalidArgument naming a file that is missing or not a CRL) and its
// OCSP client (none when OCSP is off or offline).
absl::StatusOr<pki::ValidationPolicy> ValidationPolicyOf(const config::v1::Validation& validation);

// How often the background refresher runs, and how long a CRL source may
// be stale before health says so; with their defaults.
absl::Duration CrlRefreshInterval(const config::v1::Validation& validation);
absl::Duration CrlStaleAfter(const config::v1::Validation& validation);

// The fingerprint as the policy keys anchors: colons gone, lower case.
std::string NormalizedFingerprint(absl::string_view fingerprint);

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_CONFIG_VALIDATION_CONFIG_H_
