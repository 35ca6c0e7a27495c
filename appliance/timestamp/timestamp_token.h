// An RFC 3161 TimeStampToken judged on its own: over which data, by which
// TSA, and whether that TSA is one to believe. The TSA client checks every
// token it receives with this before returning it, and verification of a
// time-stamped signature uses it on the token it finds.
#ifndef SIGNET_APPLIANCE_TIMESTAMP_TIMESTAMP_TOKEN_H_
#define SIGNET_APPLIANCE_TIMESTAMP_TIMESTAMP_TOKEN_H_

#include <openssl/x509.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace signet::timestamp {

// The hash of the stamped data in the request (messageImprint).
enum class ImprintDigest { kSha256, kSha384, kSha512 };

// "SHA256".
const char* ImprintDigestName(ImprintDigest digest);

enum class TokenStatus {
  kValid,
  kMalformed,                   // not a TimeStampToken, or one Signet does not read
  kOtherData,                   // the stamp is over other data
  kBadSignature,                // the token's signature does not verify
  kUntrustedTsa,                // the TSA certificate does not chain to the anchors
  kNotTimestampingCertificate,  // the TSA certificate lacks a critical timeStamping EKU
  kSigningCertificateMismatch,  // ESS signingCertificate(V2) names another certificate
  kTsaNameMismatch,             // the token's tsa field names another TSA
  kNonceMismatch,               // not the answer to the request made
  kPolicyMismatch,              // made under another policy than the one asked for
};

// "OTHER_DATA", for logs and reports.
const char* TokenStatusName(TokenStatus status);

// What a token says, as far as it could be read.
struct TimestampFacts {
  // The TimeStampToken: a ContentInfo with SignedData over a TSTInfo.
  std::string token_der;
  absl::Time gen_time = absl::InfinitePast();
  // The TSTInfo's tsa field when it is a directoryName, else the signer
  // certificate's subject (RFC 2253); empty when neither is known.
  std::string tsa_name;
  std::string policy_oid;  // dotted
  std::string serial_hex;  // upper case
  ImprintDigest digest = ImprintDigest::kSha256;
};

struct TokenVerification {
  TokenStatus status = TokenStatus::kMalformed;
  // Why not kValid; empty when valid. Never quotes the stamped data.
  std::string problem;
  TimestampFacts facts;

  bool valid() const { return status == TokenStatus::kValid; }
};

struct TokenVerifyOptions {
  // The request's nonce, when the token must answer one.
  std::optional<uint64_t> nonce;
  // The policy the token must have been made under (dotted OID).
  std::optional<std::string> policy_oid;
  // The imprint algorithm the token must use; absent: any of ImprintDigest.
  std::optional<ImprintDigest> digest;
  // Intermediate certificates besides those in the token. Not owned.
  std::vector<X509*> untrusted;
};

// Verifies `token_der` as a stamp over `stamped_data` by a TSA whose
// certificate chains to one of `anchors` (not owned). An error Status only
// when the check itself cannot run (out of memory); every verdict about the
// token is in the result.
absl::StatusOr<TokenVerification> VerifyTimestampToken(absl::string_view token_der,
                                                       absl::string_view stamped_data,
                                                       const std::vector<X509*>& anchors,
                                                       const TokenVerifyOptions& options = {});

}  // namespace signet::timestamp

#endif  // SIGNET_APPLIANCE_TIMESTAMP_TIMESTAMP_TOKEN_H_
