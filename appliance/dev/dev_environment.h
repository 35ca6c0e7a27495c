// `signetd --dev DIR`: everything a developer needs to run the appliance with
// no hardware, made on first use and reused afterwards. In DIR:
//   softhsm/           a SoftHSM2 token "signet-dev" (softhsm2.conf, tokens/)
//   user.pin, so.pin   its random PINs (0600; development PINs, never real)
//   ca.pem             the demo CA, whose key "demo-ca" is on the token
//   certs/<key>.pem    the demo keys' certificates (also stored on the token)
//   audit-key.pem      the audit checkpoint key's public half
//   tls/               loopback TLS: server.{pem,key}, client.{pem,key}
//                      (software keys: gRPC's TLS takes PEM key files)
//   signetd.textproto  the config, written afresh at every start
//   signetd.sock, audit.log   once the daemon runs
// The keys, all generated on the token: bank-signing (P-256, sign, bound to
// statements@bank.example), bank-decryption and customer-decryption
// (RSA-2048, decrypt), audit (P-256, signs the audit log's checkpoints), tsa
// (P-256, the dev time-stamping authority's; certificate with the critical
// extendedKeyUsage timeStamping) and demo-ca (P-256, issues the
// certificates; not in the config). DIR/tsa.serial: the TSA's serials.
#ifndef SIGNET_APPLIANCE_DEV_DEV_ENVIRONMENT_H_
#define SIGNET_APPLIANCE_DEV_DEV_ENVIRONMENT_H_

#include <sys/types.h>

#include <string>

#include "absl/status/statusor.h"
#include "signet/config/v1/config.pb.h"

namespace signet::dev {

inline constexpr char kDevTokenLabel[] = "signet-dev";
inline constexpr char kDefaultSoftHsmModule[] = "/usr/lib/softhsm/libsofthsm2.so";

struct DevOptions {
  // Made if missing (mode 0700); a relative path is made absolute.
  std::string dir;
  std::string module_path = kDefaultSoftHsmModule;
  // The loopback mTLS listener; empty: unix socket only.
  std::string tcp_address = "127.0.0.1:8443";
  // The dev TSA's HTTP listener; empty: gRPC only (and bank-signing does
  // not stamp).
  std::string tsa_address = "127.0.0.1:3180";
  // The local user the policy lets do everything a developer needs.
  uid_t uid = 0;
};

// Creates what is missing in options.dir, reuses what is there, points
// SOFTHSM2_CONF at the directory's SoftHSM configuration (in this process's
// environment: call it before anything loads the module), writes
// signetd.textproto and returns that config.
absl::StatusOr<config::v1::Config> PrepareDevEnvironment(const DevOptions& options);

}  // namespace signet::dev

#endif  // SIGNET_APPLIANCE_DEV_DEV_ENVIRONMENT_H_
