// The config dev mode runs with: firmware-config/dev.textproto (compiled
// in), with its placeholder directory /tmp/signet-dev replaced by the real
// one, the local uid as the developer, and the chosen loopback address.
#ifndef SIGNET_APPLIANCE_DEV_DEV_CONFIG_H_
#define SIGNET_APPLIANCE_DEV_DEV_CONFIG_H_

#include <sys/types.h>

#include <string>

#include "absl/status/statusor.h"
#include "signet/config/v1/config.pb.h"

namespace signet::dev {

struct DevConfigOptions {
  std::string dir;  // absolute, no trailing '/'
  std::string module_path;
  std::string tcp_address;  // empty: no TCP listener
  // The dev TSA's HTTP listener, which bank-signing's stamps come from.
  // Empty: the TSA answers over gRPC only, and bank-signing does not stamp.
  std::string tsa_address;
  uid_t uid = 0;
};

absl::StatusOr<config::v1::Config> DevConfig(const DevConfigOptions& options);

// The text written to DIR/signetd.textproto: a header saying how to use it,
// then the config.
std::string DevConfigText(const config::v1::Config& config, const std::string& dir);

// DIR/softhsm/softhsm2.conf (firmware-config/softhsm2.conf.in, compiled in).
std::string SoftHsmConf(const std::string& token_dir);

}  // namespace signet::dev

#endif  // SIGNET_APPLIANCE_DEV_DEV_CONFIG_H_
