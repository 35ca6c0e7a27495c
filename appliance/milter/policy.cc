#include "appliance/milter/policy.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "appliance/directory/email_address.h"
#include "appliance/milter/addresses.h"
#include "signet/milter/v1/milter_config.pb.h"

namespace signet::milter {
namespace {

// The config's rule keys are validated, but the policy must not trust
// that: a key that does not normalize matches nothing.
std::string KeyOf(absl::string_view key) {
  absl::StatusOr<std::string> normalized = NormalizeRuleKey(key);
  return normalized.ok() ? *normalized : std::string();
}

std::set<std::string> LocalDomains(const v1::MilterConfig& config) {
  std::set<std::string> domains;
  for (const std::string& domain : config.local_domains()) {
    absl::StatusOr<std::string> normalized = NormalizeDomain(domain);
    if (normalized.ok()) domains.insert(*normalized);
  }
  return domains;
}

// An envelope address: normalized when it is one a certificate can name,
// with its domain either way.
struct Envelope {
  std::string raw;
  std::string address;  // empty when it does not normalize
  std::string domain;
};

Envelope ParseEnvelope(absl::string_view given) {
  Envelope envelope;
  const absl::string_view stripped = StripAngleBrackets(given);
  envelope.raw = std::string(stripped);
  absl::StatusOr<std::string> address = directory::NormalizeAddress(stripped);
  if (address.ok()) envelope.address = *address;
  envelope.domain = DomainOf(stripped);
  return envelope;
}

int Strictness(v1::OutboundAction action) {
  switch (action) {
    case v1::SIGN:
      return 1;
    case v1::SIGN_AND_ENCRYPT_IF_POSSIBLE:
      return 2;
    case v1::MUST_ENCRYPT:
      return 3;
    default:
      return 0;
  }
}

// The rule an address falls under: its exact address, else its domain,
// else "*"; `rules` maps normalized keys to rule indexes.
const int* FindRule(const std::map<std::string, int>& rules, const Envelope& envelope) {
  for (const std::string& key : {envelope.address, envelope.domain, std::string(kAnyDomain)}) {
    if (key.empty()) continue;
    auto it = rules.find(key);
    if (it != rules.end()) return &it->second;
  }
  return nullptr;
}

}  // namespace

Direction ClassifyMail(const v1::MilterConfig& config, absl::string_view envelope_sender,
                       const std::vector<std::string>& recipients) {
  const std::set<std::string> local = LocalDomains(config);
  if (local.contains(DomainOf(StripAngleBrackets(envelope_sender)))) return Direction::kOutbound;
  for (const std::string& recipient : recipients) {
    if (local.contains(DomainOf(StripAngleBrackets(recipient)))) return Direction::kInbound;
  }
  return Direction::kNeither;
}

OutboundDecision DecideOutbound(const v1::MilterConfig& config, absl::string_view envelope_sender,
                                const std::vector<std::string>& recipients) {
  const v1::Outbound& outbound = config.outbound();
  OutboundDecision decision;
  if (outbound.on_missing_certificate() == v1::HOLD) decision.on_missing_certificate = v1::HOLD;

  std::map<std::string, int> signers;
  for (int i = 0; i < outbound.signers_size(); ++i) {
    for (const std::string& sender : outbound.signers(i).senders()) {
      const std::string key = KeyOf(sender);
      if (!key.empty() && key != kAnyDomain) signers.emplace(key, i);
    }
  }
  const Envelope sender = ParseEnvelope(envelope_sender);
  // Only a normalized sender: a key signs for addresses its certificate
  // can name.
  if (!sender.address.empty()) {
    auto it = signers.find(sender.address);
    if (it == signers.end()) it = signers.find(sender.domain);
    if (it != signers.end()) {
      decision.signing_key = outbound.signers(it->second).key();
      decision.timestamp = outbound.signers(it->second).timestamp();
    }
  }

  std::map<std::string, v1::OutboundAction> actions;
  for (const v1::RecipientPolicy& policy : outbound.recipient_policies()) {
    for (const std::string& domain : policy.domains()) {
      const std::string key = KeyOf(domain);
      if (!key.empty()) actions.emplace(key, policy.action());
    }
  }
  std::vector<Envelope> envelopes;
  envelopes.reserve(recipients.size());
  int strictest = -1;
  std::set<std::string> deciding;
  for (const std::string& recipient : recipients) {
    envelopes.push_back(ParseEnvelope(recipient));
    const Envelope& envelope = envelopes.back();
    v1::OutboundAction action = v1::SIGN;
    std::string rule;
    if (auto it = actions.find(envelope.domain); it != actions.end() && !envelope.domain.empty()) {
      action = it->second;
      rule = envelope.domain;
    } else if (auto any = actions.find(std::string(kAnyDomain)); any != actions.end()) {
      action = any->second;
      rule = std::string(kAnyDomain);
    }
    if (!v1::OutboundAction_IsValid(action) || action == v1::OUTBOUND_ACTION_UNSPECIFIED) {
      // An unvalidated config's unknown action: the strictest reading, so
      // that a typo never sends in the clear.
      action = v1::MUST_ENCRYPT;
    }
    const int strictness = Strictness(action);
    if (strictness > strictest) {
      strictest = strictness;
      decision.action = action;
      deciding.clear();
    }
    if (strictness == strictest) deciding.insert(rule);
  }
  decision.deciding_domains.assign(deciding.begin(), deciding.end());

  if (decision.action == v1::SIGN_AND_ENCRYPT_IF_POSSIBLE || decision.action == v1::MUST_ENCRYPT) {
    std::set<std::string> seen;
    for (const Envelope& envelope : envelopes) {
      if (envelope.address.empty()) {
        decision.unaddressable.push_back(envelope.raw);
      } else if (seen.insert(envelope.address).second) {
        decision.encrypt_to.push_back(envelope.address);
      }
    }
  }
  return decision;
}

OutboundPlan PlanOutbound(const OutboundDecision& decision,
                          const std::vector<std::string>& without_certificate, size_t unnamed) {
  OutboundPlan plan;
  const bool can_sign = !decision.signing_key.empty();
  const MailOperation sign_only = can_sign ? MailOperation::kSign : MailOperation::kNone;
  const MailOperation encrypt = can_sign ? MailOperation::kSignAndEncrypt : MailOperation::kEncrypt;
  if (decision.action == v1::SIGN) plan.operation = sign_only;
  if (decision.action != v1::SIGN_AND_ENCRYPT_IF_POSSIBLE && decision.action != v1::MUST_ENCRYPT) {
    return plan;
  }

  std::set<std::string> absent;
  for (const std::string& address : without_certificate) {
    absl::StatusOr<std::string> normalized =
        directory::NormalizeAddress(StripAngleBrackets(address));
    absent.insert(normalized.ok() ? *normalized : std::string(address));
  }
  for (const std::string& address : decision.encrypt_to) {
    if (absent.contains(address)) plan.missing.push_back(address);
  }
  plan.missing.insert(plan.missing.end(), decision.unaddressable.begin(),
                      decision.unaddressable.end());
  // Nobody to encrypt to is a missing certificate too, never a pass.
  const bool all_have_certificates =
      plan.missing.empty() && unnamed == 0 && !decision.encrypt_to.empty();

  if (all_have_certificates) {
    plan.operation = encrypt;
  } else if (decision.action == v1::SIGN_AND_ENCRYPT_IF_POSSIBLE) {
    plan.operation = sign_only;
  } else {
    plan.operation = MailOperation::kNone;
    plan.refuse = true;
    plan.refusal = decision.on_missing_certificate;
  }
  return plan;
}

InboundDecision DecideInbound(const v1::MilterConfig& config,
                              const std::vector<std::string>& recipients) {
  const std::set<std::string> local = LocalDomains(config);
  const v1::Inbound& inbound = config.inbound();
  std::map<std::string, int> rules;
  for (int i = 0; i < inbound.rules_size(); ++i) {
    for (const std::string& recipient : inbound.rules(i).recipients()) {
      const std::string key = KeyOf(recipient);
      if (!key.empty()) rules.emplace(key, i);
    }
  }

  InboundDecision decision;
  std::set<int> matched;
  bool all_decrypt = true;
  bool any_local = false;
  for (const std::string& recipient : recipients) {
    const Envelope envelope = ParseEnvelope(recipient);
    if (!local.contains(envelope.domain)) continue;
    any_local = true;
    const int* rule = FindRule(rules, envelope);
    if (rule == nullptr) {
      all_decrypt = false;
      continue;
    }
    matched.insert(*rule);
    if (!inbound.rules(*rule).decrypt()) all_decrypt = false;
  }
  if (!any_local) return decision;

  decision.decrypt = all_decrypt;
  std::set<std::string> keys;
  // std::set<int> iterates in rule order.
  for (int index : matched) {
    const v1::InboundRule& rule = inbound.rules(index);
    const bool verify = !rule.has_verify() || rule.verify();
    if (verify) {
      decision.verify = true;
      if (!rule.has_require_trusted_chain() || rule.require_trusted_chain()) {
        decision.require_trusted_chain = true;
      }
    }
    if (!decision.decrypt) continue;
    for (const std::string& key : rule.decryption_keys()) {
      if (keys.insert(key).second) decision.decryption_keys.push_back(key);
    }
  }
  return decision;
}

}  // namespace signet::milter
