// `signet timestamp`'s RFC 3161 side: the TimeStampReq it sends and what the
// TimeStampResp it gets back says. OpenSSL's TS code does the encoding; the
// reply's signature is left to whoever holds the TSA's trust anchors
// (`openssl ts -verify`), but a reply that is not for this request (another
// nonce or imprint) is refused here.
#ifndef SIGNET_APPLIANCE_CLI_TIMESTAMP_QUERY_H_
#define SIGNET_APPLIANCE_CLI_TIMESTAMP_QUERY_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/ossl_ptr.h"
#include "signet/v1/mail.pb.h"

namespace signet::cli {

struct TimestampQuery {
  TsReqPtr request;
  std::string der;
};

// A request over `digest` (the data's hash under `algorithm`) with a random
// 64-bit nonce and certReq set, so that the reply carries the TSA's
// certificate; `policy` empty: the TSA's default.
absl::StatusOr<TimestampQuery> BuildTimestampQuery(v1::DigestAlgorithm algorithm,
                                                   absl::string_view digest,
                                                   const std::string& policy);

struct TimestampReplySummary {
  bool granted = false;
  // "granted", "rejection"... and, when refused, the failure info's names
  // and the TSA's text ("badAlg, unacceptedPolicy: ...").
  std::string status;
  std::string failure;
  // Granted only.
  std::string time;  // "2026-12-05 10:00:00 UTC"
  std::string serial_hex;
  std::string tsa;  // the token's TSA name, else its signer's subject
  std::string policy;
};

// INVALID_ARGUMENT for bytes that are not a TimeStampResp, and for a granted
// reply that does not answer `query` (imprint, nonce, policy).
absl::StatusOr<TimestampReplySummary> SummarizeTimestampReply(const TimestampQuery& query,
                                                              absl::string_view reply);

// The EVP name of the digest ("SHA256").
const char* TimestampDigestName(v1::DigestAlgorithm algorithm);

}  // namespace signet::cli

#endif  // SIGNET_APPLIANCE_CLI_TIMESTAMP_QUERY_H_
