// RFC 3161 time-stamps on the signatures signetd makes (SignMail,
// SignAndEncryptMail, SignDigest): per key, the TSAs to ask and what a
// failure means. The stamp is asked for after the token has signed, on the
// stamp workers, never on a token's queue: a TSA that is slow or down holds
// no token and no key.
#ifndef SIGNET_APPLIANCE_SERVER_SIGNATURE_STAMPING_H_
#define SIGNET_APPLIANCE_SERVER_SIGNATURE_STAMPING_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "appliance/cms/cms_context.h"
#include "appliance/timestamp/tsa_client.h"
#include "signet/config/v1/config.pb.h"
#include "signet/v1/mail.pb.h"

namespace signet::server {

// One key's configuration (config::v1::SignatureTimestamps).
struct KeyStamping {
  std::unique_ptr<timestamp::TsaClient> client;
  // TIMESTAMP_BEST_EFFORT: without an acceptable stamp the signature goes
  // out unstamped, and the response and audit record say so.
  bool best_effort = false;
  // Every signature of the key is stamped, asked or not.
  bool always = false;
};

// The keys with `timestamps`, by name. Reads each key's TSA trust anchors;
// FAILED_PRECONDITION naming the key when they cannot be read.
absl::StatusOr<std::map<std::string, std::shared_ptr<const KeyStamping>>> KeyStampingsOf(
    const config::v1::Config& config);

// A signed output and its stamp: the output to release (or the error that
// replaces it), what the response says, and the audit record's fields.
struct StampedOutput {
  absl::StatusOr<std::string> output;
  v1::SignatureTimestamp report;
};

enum class SignedKind {
  kMail,       // a whole S/MIME mail or signed MIME entity (cms::SignMail's)
  kSignedData  // DER SignedData (cms::SignDigest's)
};

// Stamps every signature of `signed_output`. A TSA failure is an
// UNAVAILABLE output under TIMESTAMP_REQUIRED, and the unstamped output
// with report.problem under TIMESTAMP_BEST_EFFORT. Blocks for the TSAs.
StampedOutput StampSignatures(const KeyStamping& stamping, const cms::CmsContext& context,
                              std::string signed_output, SignedKind kind);

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_SIGNATURE_STAMPING_H_
