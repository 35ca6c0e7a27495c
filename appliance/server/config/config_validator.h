// What signetd's configuration means, checked before anything starts: the
// references between its parts, the rules of the security model (mTLS on
// every TCP listener, default deny, a signing key is not a decryption key,
// an audit log for key operations) and sane bounds. Files are not looked at
// here (start-up opens them and says what is wrong).
//
// The defaults the config's zero values stand for: config_defaults.h.
#ifndef SIGNET_APPLIANCE_SERVER_CONFIG_VALIDATOR_H_
#define SIGNET_APPLIANCE_SERVER_CONFIG_VALIDATOR_H_

#include "absl/status/status.h"
#include "appliance/server/config/config_defaults.h"
#include "signet/config/v1/config.pb.h"

namespace signet::server {

// Every problem of `config` at once: INVALID_ARGUMENT with one line per
// problem, each naming the element, e.g.
//   keys[2] "bank-signing": token "hsm-b" is not defined
// Values that may be secrets (PIN sources, pkcs11: URIs) are never repeated
// in a message: a PIN typed where a PIN file belongs must not reach a log.
absl::Status ValidateConfig(const config::v1::Config& config);

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_CONFIG_VALIDATOR_H_
