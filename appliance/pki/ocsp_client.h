// OCSP (RFC 6960) for one certificate at a time: asks the responder its
// authorityInfoAccess names (or the configured one), checks the answer as
// OpenSSL's OCSP_basic_verify does (signed by the issuing CA or by a
// responder certificate that CA issued for OCSPSigning, chained to the trust
// store), and keeps answers until their nextUpdate. Thread-safe; one client
// serves every verification. RevocationCheck (revocation_check.h) decides
// what an answer means for a chain.
#ifndef SIGNET_APPLIANCE_PKI_OCSP_CLIENT_H_
#define SIGNET_APPLIANCE_PKI_OCSP_CLIENT_H_

#include <openssl/ocsp.h>
#include <openssl/x509_vfy.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace signet::pki {

struct OcspClientOptions {
  // Asked for every certificate instead of the responder its
  // authorityInfoAccess names. http: only.
  std::string responder_url;
  absl::Duration timeout = absl::Seconds(5);
  size_t max_response_bytes = 1 << 20;
  // How many answers (one per certificate and responder) are kept at most;
  // the least recently used goes.
  size_t max_cached_answers = 1024;
  // A responder that failed is not asked again for this long (and a
  // certificate whose answer was refused is not asked about again), so a
  // responder that is down costs one caller the timeout, not every caller.
  absl::Duration retry_after_failure = absl::Seconds(60);
  // A response without nextUpdate is accepted while its thisUpdate is at
  // most this old, and kept as long.
  absl::Duration max_age_without_next_update = absl::Hours(1);
  // How far thisUpdate may lie in the future and nextUpdate in the past:
  // the responder's clock and ours differ.
  absl::Duration clock_skew = absl::Minutes(5);
};

enum class OcspStatus {
  kGood,
  kRevoked,
  kUnknown,   // the responder does not know the certificate
  kNoAnswer,  // no usable response; `error` says why
};

struct OcspAnswer {
  OcspStatus status = OcspStatus::kNoAnswer;
  // The URL asked.
  std::string responder;
  std::optional<absl::Time> this_update;
  std::optional<absl::Time> next_update;
  // For kRevoked: when, and the CRLReason code (-1: none given).
  std::optional<absl::Time> revoked_at;
  int reason = -1;
  std::string error;
};

class OcspClient {
 public:
  // InvalidArgument when responder_url is set and not an http: URL.
  static absl::StatusOr<std::shared_ptr<OcspClient>> Create(OcspClientOptions options);

  OcspClient(const OcspClient&) = delete;
  OcspClient& operator=(const OcspClient&) = delete;

  // The responder asked about `certificate`: the configured one, else the
  // first http: id-ad-ocsp URL of its authorityInfoAccess. Empty: none.
  std::string ResponderFor(X509* certificate) const;

  // The status of `certificate`, which `issuer` issued, from the cache or
  // asked now (may block for the timeout). The response's signer must
  // chain to `trust`; `untrusted` (the chain being validated) may supply
  // intermediates and the issuer.
  OcspAnswer Check(X509* certificate, X509* issuer, X509_STORE* trust, STACK_OF(X509) * untrusted);

  struct Counters {
    uint64_t requests = 0;    // HTTP requests made
    uint64_t failures = 0;    // of which gave no usable answer
    uint64_t cache_hits = 0;  // answers (or remembered failures) given without a request
  };
  Counters counters() const;

 private:
  explicit OcspClient(OcspClientOptions options) : options_(std::move(options)) {}

  struct Entry {
    OcspAnswer answer;
    absl::Time expires;  // of a good, revoked or unknown answer
    absl::Time failed_until;
    uint64_t last_used = 0;
    // Held during the request, so that callers asking about the same
    // certificate wait for one request instead of each making their own.
    std::shared_ptr<std::mutex> asking = std::make_shared<std::mutex>();
  };

  // Asks `url` now about the certificate `id` names (the CertID Check
  // made for its cache key); the answer, checked.
  OcspAnswer Ask(const std::string& url, OCSP_CERTID* id, X509_STORE* trust,
                 STACK_OF(X509) * untrusted, bool* responder_failed);

  const OcspClientOptions options_;

  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;  // by responder URL and DER CertID
  struct ResponderFailure {
    absl::Time until;
    std::string error;
  };
  std::map<std::string, ResponderFailure> responder_failures_;
  uint64_t use_clock_ = 0;
  Counters counters_;
};

}  // namespace signet::pki

#endif  // SIGNET_APPLIANCE_PKI_OCSP_CLIENT_H_
