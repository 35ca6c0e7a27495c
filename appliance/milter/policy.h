// What signet-milter does to one mail, from its envelope and the
// configuration alone (proto/signet/milter/v1/milter_config.proto): the
// decision is pure, so that every rule combination is tested without an MTA
// or signetd. The daemon asks signetd's directory which recipients have a
// certificate and then calls PlanOutbound.
//
// Envelope addresses are taken as libmilter gives them, with or without
// angle brackets. They are compared ignoring ASCII case.
#ifndef SIGNET_APPLIANCE_MILTER_POLICY_H_
#define SIGNET_APPLIANCE_MILTER_POLICY_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "signet/milter/v1/milter_config.pb.h"

namespace signet::milter {

enum class Direction {
  // The envelope sender is in local_domains.
  kOutbound,
  // Not outbound, and a recipient is in local_domains.
  kInbound,
  // Neither: passed untouched.
  kNeither,
};

Direction ClassifyMail(const v1::MilterConfig& config, absl::string_view envelope_sender,
                       const std::vector<std::string>& recipients);

// The signetd call a mail gets.
enum class MailOperation { kNone, kSign, kEncrypt, kSignAndEncrypt };

struct OutboundDecision {
  // The strictest action of the recipients' domains (NONE < SIGN <
  // SIGN_AND_ENCRYPT_IF_POSSIBLE < MUST_ENCRYPT): a mail to several
  // recipients is one message, signed or encrypted once for all of them.
  v1::OutboundAction action = v1::NONE;
  // The recipient domains whose rule gave `action` ("*" for the default
  // rule, "" for the built-in SIGN), for the log line.
  std::vector<std::string> deciding_domains;
  // signetd's key for the sender: the signer naming its exact address, else
  // its domain. Empty: the sender has none.
  std::string signing_key;
  bool timestamp = false;
  // With SIGN_AND_ENCRYPT_IF_POSSIBLE and MUST_ENCRYPT: the recipients,
  // normalized, deduplicated, in envelope order (EncryptOptions.
  // recipient_addresses).
  std::vector<std::string> encrypt_to;
  // With those actions: recipients that no certificate can name ("root",
  // "a@localhost"), as given; they count as having no certificate.
  std::vector<std::string> unaddressable;
  // What MUST_ENCRYPT does when a recipient has no certificate (REJECT when
  // the config leaves it unspecified).
  v1::MissingCertificateAction on_missing_certificate = v1::REJECT;
};

// The decision for an outbound mail. A recipient domain without a rule
// takes the "*" rule, and without one SIGN. No recipients: NONE.
OutboundDecision DecideOutbound(const v1::MilterConfig& config, absl::string_view envelope_sender,
                                const std::vector<std::string>& recipients);

struct OutboundPlan {
  MailOperation operation = MailOperation::kNone;
  // MUST_ENCRYPT and recipients without a certificate: the mail must not
  // leave; `refusal` says whether it is rejected (5xx) or held, naming
  // `missing`. `operation` is then kNone.
  bool refuse = false;
  v1::MissingCertificateAction refusal = v1::REJECT;
  // The recipients without a certificate (those of `without_certificate`
  // that are in the mail, and the unaddressable ones), when they matter.
  std::vector<std::string> missing;
};

// The operation once signetd's directory has answered which of
// decision.encrypt_to have no usable certificate:
// - NONE: nothing. SIGN: sign when the sender has a key, else nothing.
// - SIGN_AND_ENCRYPT_IF_POSSIBLE: every recipient has a certificate →
//   sign and encrypt (encrypt only, without a sender key); otherwise as SIGN.
// - MUST_ENCRYPT: every recipient has a certificate → sign and encrypt
//   (encrypt only, without a sender key); otherwise refused.
// `unnamed`: recipients signetd found without a certificate but did not
// name (ErrorDetails.omitted_unresolved_recipients); any makes "every
// recipient has a certificate" false.
OutboundPlan PlanOutbound(const OutboundDecision& decision,
                          const std::vector<std::string>& without_certificate, size_t unnamed = 0);

struct InboundDecision {
  // Every local recipient's rule decrypts (a recipient whose rule keeps
  // mail encrypted, or who has no rule, must not get it in the clear).
  bool decrypt = false;
  // The keys of the local recipients' rules, in the config's rule order,
  // without repeats; empty unless decrypt.
  std::vector<std::string> decryption_keys;
  // Some local recipient's rule verifies (verify defaults to on).
  bool verify = false;
  // Some verifying rule requires a trusted chain (defaults to on).
  bool require_trusted_chain = false;
};

// A local recipient's rule is the one naming its exact address, else its
// domain, else "*". Recipients outside local_domains are not looked at.
InboundDecision DecideInbound(const v1::MilterConfig& config,
                              const std::vector<std::string>& recipients);

}  // namespace signet::milter

#endif  // SIGNET_APPLIANCE_MILTER_POLICY_H_
