// The requesting side of RFC 3161: asks a time-stamping authority for a
// TimeStampToken over some data, and returns it only after checking it
// (VerifyTimestampToken, plus the request's nonce and policy). TSAs are
// asked in the configured order; any failure moves on to the next. Plain
// http: only, through the project's HTTP client (pki/http_fetch.h): the
// reply is signed, and the URLs are configuration, not input.
//
// Thread-safe: Stamp keeps no state between calls.
#ifndef SIGNET_APPLIANCE_TIMESTAMP_TSA_CLIENT_H_
#define SIGNET_APPLIANCE_TIMESTAMP_TSA_CLIENT_H_

#include <openssl/x509.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "appliance/timestamp/timestamp_token.h"
#include "common/ossl_ptr.h"

namespace signet::timestamp {

struct TsaClientOptions {
  // http: URLs, asked in this order.
  std::vector<std::string> urls;
  // reqPolicy (dotted OID); empty: the TSA's default, any accepted.
  std::string policy_oid;
  // Per URL; rounded up to whole seconds by the HTTP client.
  absl::Duration timeout = absl::Seconds(10);
  size_t max_response_bytes = 1 << 20;
  ImprintDigest digest = ImprintDigest::kSha256;
  // How far genTime may be from this host's clock: a TSA whose clock is
  // wrong vouches for a wrong time.
  absl::Duration max_clock_skew = absl::Minutes(5);
  // The certificates a TSA's certificate must chain to; not owned, each
  // kept (reference counted) by the client.
  std::vector<X509*> anchors;
  // Intermediate CAs for TSAs whose tokens do not carry them; kept too.
  std::vector<X509*> intermediates;
};

// A checked stamp.
struct Timestamp {
  TimestampFacts facts;  // facts.token_der is the TimeStampToken
  std::string url;       // the TSA that answered
};

class TsaClient {
 public:
  // InvalidArgument without URLs or anchors, for a URL that is not http:,
  // or a policy that is not a dotted OID.
  static absl::StatusOr<std::unique_ptr<TsaClient>> Create(const TsaClientOptions& options);

  TsaClient(const TsaClient&) = delete;
  TsaClient& operator=(const TsaClient&) = delete;

  // A stamp over `data` from the first TSA that gives an acceptable one;
  // UNAVAILABLE naming every URL and why it was not used when none did
  // (no answer, an HTTP failure, a rejection, a reply that failed a check).
  // Each TSA that failed is logged as a warning even when a later one
  // answered; nothing of `data` is logged.
  absl::StatusOr<Timestamp> Stamp(absl::string_view data) const;

 private:
  TsaClient(TsaClientOptions options, std::vector<X509Ptr> anchors,
            std::vector<X509Ptr> intermediates)
      : options_(std::move(options)),
        anchors_(std::move(anchors)),
        intermediates_(std::move(intermediates)) {}

  // One TSA: the checked stamp, or why not.
  absl::StatusOr<Timestamp> Ask(const std::string& url, const std::string& request,
                                absl::string_view data, uint64_t nonce) const;

  const TsaClientOptions options_;  // its certificate pointers unused
  const std::vector<X509Ptr> anchors_;
  const std::vector<X509Ptr> intermediates_;
};

}  // namespace signet::timestamp

#endif  // SIGNET_APPLIANCE_TIMESTAMP_TSA_CLIENT_H_
