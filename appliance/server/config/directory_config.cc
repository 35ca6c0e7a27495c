#include "appliance/server/config/directory_config.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "appliance/directory/email_address.h"
#include "appliance/http/listen_address.h"

namespace signet::server {
namespace {

using config::v1::CertificateDirectory;
using config::v1::Config;

constexpr unsigned kMaxTimeoutSeconds = 60;

class Problems {
 public:
  void Add(std::string where, std::string what) {
    list.emplace_back(std::move(where), std::move(what));
  }
  std::vector<std::pair<std::string, std::string>> list;
};

void CheckAbsolute(Problems& problems, const std::string& where, absl::string_view field,
                   absl::string_view path, bool required) {
  if (path.empty()) {
    if (required) problems.Add(where, absl::StrCat(field, " is required"));
    return;
  }
  if (path.front() != '/') {
    problems.Add(where, absl::StrCat(field, " \"", path, "\" is not an absolute path"));
  }
}

// "192.0.2.53" or "192.0.2.53@5353", as libunbound takes them.
bool IsResolverAddress(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '@');
  if (parts.size() > 2 || parts[0].empty()) return false;
  if (parts.size() == 2) {
    int port = 0;
    if (!absl::SimpleAtoi(parts[1], &port) || port < 1 || port > 65535) return false;
  }
  return http::ParseListenAddress(absl::StrCat(parts[0].find(':') != absl::string_view::npos
                                                   ? absl::StrCat("[", parts[0], "]")
                                                   : std::string(parts[0]),
                                               ":53"))
      .ok();
}

// A domain as the directory keys addresses: what NormalizeAddress takes
// after the '@'.
bool IsDomain(absl::string_view domain) {
  return directory::NormalizeAddress(absl::StrCat("postmaster@", domain)).ok();
}

void CheckLdap(Problems& problems, const CertificateDirectory& directory) {
  for (int i = 0; i < directory.ldap_size(); ++i) {
    const config::v1::LdapDirectory& ldap = directory.ldap(i);
    const std::string where = absl::StrCat("directory.ldap[", i, "]");
    if (ldap.urls().empty()) problems.Add(where, "urls are required");
    for (const std::string& url : ldap.urls()) {
      if (!absl::StartsWith(url, "ldap://") && !absl::StartsWith(url, "ldaps://")) {
        problems.Add(where, absl::StrCat("url \"", url, "\" is not ldap:// or ldaps://"));
      }
    }
    if (ldap.base_dn().empty()) problems.Add(where, "base_dn is required");
    if (ldap.bind_dn().empty() != ldap.bind_password_file().empty()) {
      problems.Add(where, "bind_dn and bind_password_file go together");
    }
    CheckAbsolute(problems, where, "bind_password_file", ldap.bind_password_file(), false);
    if (ldap.timeout_seconds() > kMaxTimeoutSeconds) {
      problems.Add(where, absl::StrCat("timeout_seconds is at most ", kMaxTimeoutSeconds));
    }
  }
}

void CheckSmimea(Problems& problems, const CertificateDirectory& directory) {
  if (!directory.has_smimea()) return;
  const config::v1::SmimeaLookup& smimea = directory.smimea();
  const std::string where = "directory.smimea";
  if (!smimea.enabled()) return;
  CheckAbsolute(problems, where, "trust_anchor_file", smimea.trust_anchor_file(), true);
  for (const std::string& forwarder : smimea.forwarders()) {
    if (!IsResolverAddress(forwarder)) {
      problems.Add(where, absl::StrCat("forwarder \"", forwarder,
                                       "\" is not an IP address with an optional @port"));
    }
  }
  if (!smimea.authoritative_server().empty()) {
    if (!IsResolverAddress(smimea.authoritative_server())) {
      problems.Add(where, absl::StrCat("authoritative_server \"", smimea.authoritative_server(),
                                       "\" is not an IP address with an optional @port"));
    }
    if (!smimea.forwarders().empty()) {
      problems.Add(where, "authoritative_server and forwarders exclude each other");
    }
  }
  if (smimea.timeout_seconds() > kMaxTimeoutSeconds) {
    problems.Add(where, absl::StrCat("timeout_seconds is at most ", kMaxTimeoutSeconds));
  }
}

void CheckPublic(Problems& problems, const CertificateDirectory& directory) {
  const std::string where = "directory";
  if (!directory.public_http_address().empty()) {
    if (absl::StatusOr<http::ListenAddress> address =
            http::ParseListenAddress(directory.public_http_address());
        !address.ok()) {
      problems.Add(where, absl::StrCat("public_http_address ", address.status().message()));
    }
  }
  if (directory.public_requests_per_second() < 0) {
    problems.Add(where, "public_requests_per_second must not be negative");
  }
  for (const std::string& domain : directory.public_domains()) {
    if (!IsDomain(domain)) {
      problems.Add(where, absl::StrCat("public_domains entry \"", domain, "\" is not a domain"));
    }
  }
}

bool GrantsDirectoryOperation(const Config& config) {
  for (const config::v1::Caller& caller : config.callers()) {
    for (const config::v1::Grant& grant : caller.grants()) {
      for (int operation : grant.operations()) {
        if (operation == config::v1::LOOKUP_CERTIFICATES ||
            operation == config::v1::PUBLISH_CERTIFICATES) {
          return true;
        }
      }
    }
  }
  return false;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> DirectoryProblems(const Config& config) {
  Problems problems;
  if (!config.has_directory()) {
    if (GrantsDirectoryOperation(config)) {
      problems.Add("callers", "LOOKUP_CERTIFICATES and PUBLISH_CERTIFICATES need a directory");
    }
    return problems.list;
  }
  const CertificateDirectory& directory = config.directory();
  CheckAbsolute(problems, "directory", "store_path", directory.store_path(), true);
  CheckLdap(problems, directory);
  CheckSmimea(problems, directory);
  CheckPublic(problems, directory);
  return problems.list;
}

absl::Duration LdapTimeout(const config::v1::LdapDirectory& ldap) {
  return absl::Seconds(ldap.timeout_seconds() > 0 ? ldap.timeout_seconds() : 5);
}

absl::Duration LdapCacheTtl(const config::v1::LdapDirectory& ldap) {
  return absl::Seconds(ldap.cache_seconds() > 0 ? ldap.cache_seconds() : 600);
}

absl::Duration SmimeaTimeout(const config::v1::SmimeaLookup& smimea) {
  return absl::Seconds(smimea.timeout_seconds() > 0 ? smimea.timeout_seconds() : 5);
}

bool HarvestEnabled(const CertificateDirectory& directory) {
  return !directory.has_harvest() || directory.harvest();
}

}  // namespace signet::server
