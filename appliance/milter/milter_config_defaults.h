// The values signet-milter uses for the MilterConfig fields left at 0 or
// unset (their meaning: proto/signet/milter/v1/milter_config.proto).
#ifndef SIGNET_APPLIANCE_MILTER_MILTER_CONFIG_DEFAULTS_H_
#define SIGNET_APPLIANCE_MILTER_MILTER_CONFIG_DEFAULTS_H_

#include <cstdint>

#include "signet/milter/v1/milter_config.pb.h"

namespace signet::milter {

inline constexpr uint32_t kDefaultListenMode = 0660;
// signetd's own default limit (limits.max_message_bytes): what the milter
// passes, signetd takes. A 40 MiB attachment is about 54 MiB of mail.
inline constexpr uint64_t kDefaultMaxMessageBytes = uint64_t{64} << 20;
inline constexpr uint64_t kMaxMaxMessageBytes = uint64_t{1} << 30;
inline constexpr uint32_t kDefaultSignetdTimeoutSeconds = 120;
// Postfix's milter_connect_timeout, milter_command_timeout and
// milter_content_timeout defaults.
inline constexpr uint32_t kPostfixConnectTimeoutSeconds = 30;
inline constexpr uint32_t kPostfixCommandTimeoutSeconds = 30;
inline constexpr uint32_t kPostfixContentTimeoutSeconds = 300;
// The most signetd calls one mail makes (inbound: DecryptMail, then
// VerifyMail); they must all fit in the MTA's content timeout.
inline constexpr uint32_t kMaxSignetdCallsPerMail = 2;

// `config` with every 0 or unset field that has a default set to it;
// the rules' optional booleans (verify, require_trusted_chain) set too, and
// on_missing_certificate REJECT when unspecified. Values already set,
// valid or not, are kept: validating the result still finds them.
v1::MilterConfig WithDefaults(v1::MilterConfig config);

}  // namespace signet::milter

#endif  // SIGNET_APPLIANCE_MILTER_MILTER_CONFIG_DEFAULTS_H_
