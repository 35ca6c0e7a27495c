// The configuration's `directory` section (docs/directory.md): its checks,
// part of ValidateConfig. Paths are checked for being absolute; whether the
// files exist is start-up's business, as for every path of the config.
#ifndef SIGNET_APPLIANCE_SERVER_CONFIG_DIRECTORY_CONFIG_H_
#define SIGNET_APPLIANCE_SERVER_CONFIG_DIRECTORY_CONFIG_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "signet/config/v1/config.pb.h"

namespace signet::server {

// What is wrong with the section and with grants that need it, as (where,
// what) pairs.
std::vector<std::pair<std::string, std::string>> DirectoryProblems(
    const config::v1::Config& config);

// The settings with their defaults.
inline constexpr double kDefaultPublicRequestsPerSecond = 5;
inline constexpr unsigned kDefaultPublicBurst = 20;
absl::Duration LdapTimeout(const config::v1::LdapDirectory& ldap);
absl::Duration LdapCacheTtl(const config::v1::LdapDirectory& ldap);
absl::Duration SmimeaTimeout(const config::v1::SmimeaLookup& smimea);
bool HarvestEnabled(const config::v1::CertificateDirectory& directory);

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_CONFIG_DIRECTORY_CONFIG_H_
