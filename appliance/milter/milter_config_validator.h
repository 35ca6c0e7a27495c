// What signet-milter's configuration means, checked before it starts and by
// `signet-milter --check-config`: every problem at once, each naming the
// field ("outbound.signers[1].senders[0]") and what is wrong.
//
// Run on the config as loaded, before WithDefaults: a field given where it
// has no effect (listen_mode with an inet socket) is told from a default.
#ifndef SIGNET_APPLIANCE_MILTER_MILTER_CONFIG_VALIDATOR_H_
#define SIGNET_APPLIANCE_MILTER_MILTER_CONFIG_VALIDATOR_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "signet/milter/v1/milter_config.pb.h"

namespace signet::milter {

// Every problem, one sentence each, in the order of the fields; empty when
// the config can run. Decisions worth knowing:
// - A rule naming a sender, recipient or domain outside local_domains is an
//   error where it could never apply (signers, inbound rules); recipient
//   policies name foreign domains by nature.
// - A MUST_ENCRYPT policy is allowed for senders without a signer: their
//   mail is encrypted without a signature (encryption needs no key of
//   theirs), never sent in the clear.
// - signetd_timeout_seconds times the most calls a mail makes must stay
//   below the MTA's content timeout, so that the milter answers (4xx) before
//   the MTA gives up on it.
std::vector<std::string> MilterConfigProblems(const v1::MilterConfig& config);

// OK, or INVALID_ARGUMENT with the problems one per line.
absl::Status ValidateMilterConfig(const v1::MilterConfig& config);

}  // namespace signet::milter

#endif  // SIGNET_APPLIANCE_MILTER_MILTER_CONFIG_VALIDATOR_H_
