#include "appliance/milter/milter_config_validator.h"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "appliance/http/listen_address.h"
#include "appliance/milter/addresses.h"
#include "appliance/milter/listen_spec.h"
#include "appliance/milter/milter_config_defaults.h"
#include "signet/milter/v1/milter_config.pb.h"

namespace signet::milter {
namespace {

class Problems {
 public:
  void Add(absl::string_view field, absl::string_view problem) {
    problems_.push_back(absl::StrCat(field, ": ", problem));
  }
  std::vector<std::string> Take() { return std::move(problems_); }

 private:
  std::vector<std::string> problems_;
};

std::string Indexed(absl::string_view field, int i) { return absl::StrCat(field, "[", i, "]"); }

void CheckListen(const v1::MilterConfig& config, Problems& problems) {
  if (config.listen().empty()) {
    problems.Add("listen", "required (\"unix:/run/signet/milter.sock\", \"inet:10025@127.0.0.1\")");
    return;
  }
  absl::StatusOr<ListenSpec> spec = ParseListenSpec(config.listen());
  if (!spec.ok()) {
    problems.Add("listen", spec.status().message());
    return;
  }
  if (spec->kind != ListenSpec::Kind::kUnix && config.listen_mode() != 0) {
    problems.Add("listen_mode", "only for a unix socket");
  }
  if (config.listen_mode() > 0777) problems.Add("listen_mode", "not a file mode (at most 0777)");
}

bool IsHostPort(absl::string_view server) {
  const size_t colon = server.rfind(':');
  if (colon == 0 || colon == absl::string_view::npos) return false;
  int port = 0;
  return absl::SimpleAtoi(server.substr(colon + 1), &port) && port >= 1 && port <= 65535 &&
         server.substr(colon + 1).find_first_not_of("0123456789") == absl::string_view::npos;
}

void CheckSignetd(const v1::MilterConfig& config, Problems& problems) {
  const v1::SignetdConnection& c = config.signetd();
  if (c.socket().empty() && c.server().empty()) {
    problems.Add("signetd", "required: its socket, or its server with client TLS files");
    return;
  }
  if (!c.socket().empty() && !c.server().empty()) {
    problems.Add("signetd", "socket and server are exclusive");
    return;
  }
  if (!c.socket().empty()) {
    if (c.socket().front() != '/') problems.Add("signetd.socket", "must be an absolute path");
    for (const auto& [name, value] : {std::pair{"cert_file", &c.cert_file()},
                                      {"key_file", &c.key_file()},
                                      {"ca_file", &c.ca_file()},
                                      {"tls_name", &c.tls_name()}}) {
      if (!value->empty()) {
        problems.Add(absl::StrCat("signetd.", name), "only with server (TCP and mutual TLS)");
      }
    }
    return;
  }
  if (!IsHostPort(c.server())) problems.Add("signetd.server", "must be HOST:PORT");
  for (const auto& [name, value] : {std::pair{"cert_file", &c.cert_file()},
                                    {"key_file", &c.key_file()},
                                    {"ca_file", &c.ca_file()}}) {
    if (value->empty()) {
      problems.Add(absl::StrCat("signetd.", name), "required with server (mutual TLS)");
    }
  }
}

void CheckAuthservId(const v1::MilterConfig& config, Problems& problems) {
  if (!config.metrics_address().empty()) {
    if (absl::StatusOr<http::ListenAddress> metrics =
            http::ParseListenAddress(config.metrics_address());
        !metrics.ok()) {
      problems.Add("metrics_address", metrics.status().message());
    }
  }
  const std::string& id = config.authserv_id();
  if (id.empty()) {
    problems.Add("authserv_id", "required (this host's name, e.g. \"mx1.bank.example\")");
    return;
  }
  for (char c : id) {
    if (c <= ' ' || c >= 0x7f) {
      problems.Add("authserv_id", "only printable ASCII without blanks");
      return;
    }
  }
}

std::set<std::string> CheckLocalDomains(const v1::MilterConfig& config, Problems& problems) {
  std::set<std::string> domains;
  if (config.local_domains().empty()) {
    problems.Add("local_domains", "at least one (the bank's own domains)");
  }
  for (int i = 0; i < config.local_domains_size(); ++i) {
    absl::StatusOr<std::string> domain = NormalizeDomain(config.local_domains(i));
    if (!domain.ok()) {
      problems.Add(Indexed("local_domains", i), domain.status().message());
    } else if (!domains.insert(*domain).second) {
      problems.Add(Indexed("local_domains", i), absl::StrCat("\"", *domain, "\" given twice"));
    }
  }
  return domains;
}

void CheckLimits(const v1::MilterConfig& config, Problems& problems) {
  if (config.max_message_bytes() > kMaxMaxMessageBytes) {
    problems.Add("max_message_bytes", absl::StrCat("at most ", kMaxMaxMessageBytes));
  }
  const v1::MilterConfig filled = WithDefaults(config);
  const uint64_t worst = uint64_t{filled.signetd_timeout_seconds()} * kMaxSignetdCallsPerMail;
  if (worst >= filled.mta_content_timeout_seconds()) {
    problems.Add(
        "signetd_timeout_seconds",
        absl::StrCat(filled.signetd_timeout_seconds(), " s per call, ", kMaxSignetdCallsPerMail,
                     " calls per mail: must stay below the MTA's ",
                     filled.mta_content_timeout_seconds(),
                     " s content timeout (mta_content_timeout_seconds), or the MTA "
                     "gives up before the milter answers"));
  }
}

// A rule's key, normalized; problems for a bad one, a duplicate, or one
// outside local_domains when `local_only`.
void CheckRuleKey(absl::string_view field, absl::string_view key, bool allow_any, bool local_only,
                  const std::set<std::string>& local_domains, std::set<std::string>& seen,
                  Problems& problems) {
  absl::StatusOr<std::string> normalized = NormalizeRuleKey(key);
  if (!normalized.ok()) {
    problems.Add(field, normalized.status().message());
    return;
  }
  if (*normalized == kAnyDomain && !allow_any) {
    problems.Add(field, "\"*\" is not allowed here: name the addresses or domains");
    return;
  }
  if (!seen.insert(*normalized).second) {
    problems.Add(field, absl::StrCat("\"", *normalized, "\" is in another rule already"));
    return;
  }
  if (local_only && *normalized != kAnyDomain) {
    const std::string domain =
        normalized->find('@') == std::string::npos ? *normalized : DomainOf(*normalized);
    if (!local_domains.contains(domain)) {
      problems.Add(field, absl::StrCat("\"", *normalized,
                                       "\" is not in local_domains, so this never applies"));
    }
  }
}

void CheckOutbound(const v1::Outbound& outbound, const std::set<std::string>& local_domains,
                   Problems& problems) {
  std::set<std::string> senders;
  for (int i = 0; i < outbound.signers_size(); ++i) {
    const v1::Signer& signer = outbound.signers(i);
    const std::string field = Indexed("outbound.signers", i);
    if (signer.key().empty()) problems.Add(absl::StrCat(field, ".key"), "required");
    if (signer.senders().empty()) problems.Add(absl::StrCat(field, ".senders"), "at least one");
    for (int j = 0; j < signer.senders_size(); ++j) {
      // No "*": a key's certificate names its addresses, and a signature by
      // a key for another address would fail verification as a mismatch.
      CheckRuleKey(Indexed(absl::StrCat(field, ".senders"), j), signer.senders(j),
                   /*allow_any=*/false, /*local_only=*/true, local_domains, senders, problems);
    }
  }
  std::set<std::string> domains;
  for (int i = 0; i < outbound.recipient_policies_size(); ++i) {
    const v1::RecipientPolicy& policy = outbound.recipient_policies(i);
    const std::string field = Indexed("outbound.recipient_policies", i);
    if (policy.action() == v1::OUTBOUND_ACTION_UNSPECIFIED) {
      problems.Add(absl::StrCat(field, ".action"),
                   "required: NONE, SIGN, SIGN_AND_ENCRYPT_IF_POSSIBLE or MUST_ENCRYPT");
    } else if (!v1::OutboundAction_IsValid(policy.action())) {
      problems.Add(absl::StrCat(field, ".action"),
                   absl::StrCat("unknown action ", policy.action()));
    }
    if (policy.domains().empty()) problems.Add(absl::StrCat(field, ".domains"), "at least one");
    for (int j = 0; j < policy.domains_size(); ++j) {
      const std::string domain_field = Indexed(absl::StrCat(field, ".domains"), j);
      if (policy.domains(j).find('@') != std::string::npos) {
        problems.Add(domain_field, "a domain or \"*\", not an address");
        continue;
      }
      CheckRuleKey(domain_field, policy.domains(j), /*allow_any=*/true, /*local_only=*/false,
                   local_domains, domains, problems);
    }
  }
  if (!v1::MissingCertificateAction_IsValid(outbound.on_missing_certificate())) {
    problems.Add("outbound.on_missing_certificate",
                 absl::StrCat("unknown action ", outbound.on_missing_certificate()));
  }
}

void CheckInbound(const v1::Inbound& inbound, const std::set<std::string>& local_domains,
                  Problems& problems) {
  std::set<std::string> recipients;
  for (int i = 0; i < inbound.rules_size(); ++i) {
    const v1::InboundRule& rule = inbound.rules(i);
    const std::string field = Indexed("inbound.rules", i);
    if (rule.recipients().empty()) {
      problems.Add(absl::StrCat(field, ".recipients"), "at least one");
    }
    for (int j = 0; j < rule.recipients_size(); ++j) {
      CheckRuleKey(Indexed(absl::StrCat(field, ".recipients"), j), rule.recipients(j),
                   /*allow_any=*/true, /*local_only=*/true, local_domains, recipients, problems);
    }
    if (rule.decrypt() && rule.decryption_keys().empty()) {
      problems.Add(absl::StrCat(field, ".decryption_keys"), "required with decrypt: true");
    }
    if (!rule.decrypt() && !rule.decryption_keys().empty()) {
      problems.Add(absl::StrCat(field, ".decryption_keys"),
                   "given without decrypt: true, so never used");
    }
    std::set<std::string> keys;
    for (int j = 0; j < rule.decryption_keys_size(); ++j) {
      const std::string key_field = Indexed(absl::StrCat(field, ".decryption_keys"), j);
      if (rule.decryption_keys(j).empty()) {
        problems.Add(key_field, "empty key name");
      } else if (!keys.insert(rule.decryption_keys(j)).second) {
        problems.Add(key_field, absl::StrCat("\"", rule.decryption_keys(j), "\" given twice"));
      }
    }
  }
}

}  // namespace

std::vector<std::string> MilterConfigProblems(const v1::MilterConfig& config) {
  Problems problems;
  CheckListen(config, problems);
  CheckSignetd(config, problems);
  CheckAuthservId(config, problems);
  const std::set<std::string> local_domains = CheckLocalDomains(config, problems);
  CheckLimits(config, problems);
  CheckOutbound(config.outbound(), local_domains, problems);
  CheckInbound(config.inbound(), local_domains, problems);
  return problems.Take();
}

absl::Status ValidateMilterConfig(const v1::MilterConfig& config) {
  const std::vector<std::string> problems = MilterConfigProblems(config);
  if (problems.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(problems, "\n"));
}

}  // namespace signet::milter
