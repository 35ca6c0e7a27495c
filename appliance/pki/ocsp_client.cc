#include "appliance/pki/ocsp_client.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "appliance/pki/http_fetch.h"
#include "appliance/pki/lru_eviction.h"
#include "common/asn1_time.h"
#include "common/log.h"
#include "common/openssl_error.h"
#include "common/ossl_ptr.h"

namespace signet::pki {
namespace {

constexpr char kRequestType[] = "application/ocsp-request";
constexpr char kResponseType[] = "application/ocsp-response";

std::string Der(OCSP_CERTID* id) {
  unsigned char* der = nullptr;
  const int length = i2d_OCSP_CERTID(id, &der);
  if (length <= 0) return {};
  std::string result(reinterpret_cast<const char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  return result;
}

OcspAnswer Failure(const std::string& url, std::string error) {
  OcspAnswer answer;
  answer.responder = url;
  answer.error = std::move(error);
  return answer;
}

// A failure of OpenSSL's own: `what`, then the reasons its error queue
// holds (drained).
OcspAnswer OpenSslFailure(const std::string& url, absl::string_view what) {
  return Failure(url, std::string(OpenSslError(what).message()));
}

}  // namespace

absl::StatusOr<std::shared_ptr<OcspClient>> OcspClient::Create(OcspClientOptions options) {
  if (!options.responder_url.empty() &&
      !absl::StartsWithIgnoreCase(options.responder_url, "http://")) {
    return absl::InvalidArgumentError(absl::StrCat("OCSP responder '", options.responder_url,
                                                   "' is not an http: URL; only http: is asked"));
  }
  return std::shared_ptr<OcspClient>(new OcspClient(std::move(options)));
}

std::string OcspClient::ResponderFor(X509* certificate) const {
  if (!options_.responder_url.empty()) return options_.responder_url;
  std::string url;
  STACK_OF(OPENSSL_STRING)* urls = X509_get1_ocsp(certificate);
  for (int i = 0; i < sk_OPENSSL_STRING_num(urls); ++i) {
    const char* candidate = sk_OPENSSL_STRING_value(urls, i);
    if (absl::StartsWithIgnoreCase(candidate, "http://")) {
      url = candidate;
      break;
    }
  }
  X509_email_free(urls);
  return url;
}

OcspAnswer OcspClient::Check(X509* certificate, X509* issuer, X509_STORE* trust,
                             STACK_OF(X509) * untrusted) {
  const std::string url = ResponderFor(certificate);
  if (url.empty()) return Failure(url, "no OCSP responder is named");
  OcspCertIdPtr id(OCSP_cert_to_id(nullptr, certificate, issuer));
  if (!id) return OpenSslFailure(url, "cannot make the OCSP CertID");
  const std::string key = absl::StrCat(url, "\n", Der(id.get()));

  std::shared_ptr<std::mutex> asking;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    asking = entries_[key].asking;
  }
  // One request per certificate at a time; the others wait for its answer.
  std::lock_guard<std::mutex> one_request(*asking);
  const absl::Time now = absl::Now();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Entry& entry = entries_[key];
    entry.last_used = ++use_clock_;
    if (entry.answer.status != OcspStatus::kNoAnswer && now < entry.expires) {
      ++counters_.cache_hits;
      return entry.answer;
    }
    if (now < entry.failed_until) {
      ++counters_.cache_hits;
      return entry.answer;
    }
    auto failed = responder_failures_.find(url);
    if (failed != responder_failures_.end() && now < failed->second.until) {
      ++counters_.cache_hits;
      return Failure(url, absl::StrCat(failed->second.error, " (not asked again until ",
                                       absl::FormatTime(absl::RFC3339_sec, failed->second.until,
                                                        absl::UTCTimeZone()),
                                       ")"));
    }
    ++counters_.requests;
  }
  bool responder_failed = false;
  OcspAnswer answer = Ask(url, id.get(), trust, untrusted, &responder_failed);

  std::lock_guard<std::mutex> lock(mutex_);
  Entry& entry = entries_[key];
  if (answer.status == OcspStatus::kNoAnswer) {
    ++counters_.failures;
    Log(LogLevel::kWarning, absl::StrCat("OCSP responder ", url, ": ", answer.error));
    entry.answer = answer;
    entry.failed_until = now + options_.retry_after_failure;
    if (responder_failed) {
      // The URLs come from certificates: forget the pauses that are over.
      std::erase_if(responder_failures_,
                    [&](const auto& failure) { return failure.second.until <= now; });
      responder_failures_[url] = {entry.failed_until, answer.error};
    }
  } else {
    entry.answer = answer;
    entry.failed_until = absl::InfinitePast();
    entry.expires = answer.next_update.value_or(answer.this_update.value_or(now) +
                                                options_.max_age_without_next_update);
    responder_failures_.erase(url);
  }
  EvictLeastRecentlyUsed(entries_, options_.max_cached_answers);
  return answer;
}

OcspAnswer OcspClient::Ask(const std::string& url, OCSP_CERTID* id, X509_STORE* trust,
                           STACK_OF(X509) * untrusted, bool* responder_failed) {
  OcspRequestPtr request(OCSP_REQUEST_new());
  OcspCertIdPtr request_id(OCSP_CERTID_dup(id));
  if (!request || !request_id || OCSP_request_add0_id(request.get(), request_id.get()) == nullptr) {
    return OpenSslFailure(url, "cannot make an OCSP request");
  }
  (void)request_id.release();  // the request owns it now
  // A nonce ties the response to this request (RFC 6960 section 4.4.1);
  // responders that precompute (RFC 5019) leave it out, which is accepted.
  if (OCSP_request_add1_nonce(request.get(), nullptr, -1) != 1) {
    return OpenSslFailure(url, "cannot add a nonce");
  }
  unsigned char* der = nullptr;
  const int length = i2d_OCSP_REQUEST(request.get(), &der);
  if (length <= 0) return OpenSslFailure(url, "cannot encode the request");
  std::string body(reinterpret_cast<const char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);

  absl::StatusOr<std::string> reply =
      HttpTransfer({.url = url,
                    .body = std::move(body),
                    .content_type = kRequestType,
                    .expected_content_type = kResponseType,
                    .timeout = options_.timeout,
                    .max_response_bytes = options_.max_response_bytes});
  *responder_failed = true;
  if (!reply.ok()) return Failure(url, std::string(reply.status().message()));
  const auto* data = reinterpret_cast<const unsigned char*>(reply->data());
  OcspResponsePtr response(d2i_OCSP_RESPONSE(nullptr, &data, static_cast<long>(reply->size())));
  if (!response) return OpenSslFailure(url, "the answer is not an OCSP response");
  const int response_status = OCSP_response_status(response.get());
  if (response_status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    return Failure(
        url, absl::StrCat("the responder answered ", OCSP_response_status_str(response_status)));
  }
  OcspBasicRespPtr basic(OCSP_response_get1_basic(response.get()));
  if (!basic) return OpenSslFailure(url, "the response is not a basic OCSP response");
  // From here on the responder works; what is wrong is this answer.
  *responder_failed = false;

  // 1: the same nonce; -1: the response has none. 0: another one.
  const int nonce = OCSP_check_nonce(request.get(), basic.get());
  if (nonce != 1 && nonce != -1) {
    ERR_clear_error();
    return Failure(url, "the response's nonce is not the request's");
  }
  // The signer must chain to `trust` (OCSP helper purpose) and be the CA
  // that issued the certificate or a certificate that CA issued with
  // extendedKeyUsage OCSPSigning (OpenSSL's ocsp_check_issuer). No
  // NOVERIFY or TRUSTOTHER; and NOEXPLICIT, so that an anchor marked as
  // trusted for OCSP signing does not vouch for any signer below it.
  if (OCSP_basic_verify(basic.get(), untrusted, trust, OCSP_NOEXPLICIT) <= 0) {
    return OpenSslFailure(url, "the response's signature or signer is not accepted");
  }
  int status = -1;
  int reason = -1;
  ASN1_GENERALIZEDTIME* revoked_at = nullptr;
  ASN1_GENERALIZEDTIME* this_update = nullptr;
  ASN1_GENERALIZEDTIME* next_update = nullptr;
  if (OCSP_resp_find_status(basic.get(), id, &status, &reason, &revoked_at, &this_update,
                            &next_update) != 1) {
    ERR_clear_error();
    return Failure(url, "the response says nothing about the certificate");
  }
  const long skew = static_cast<long>(absl::ToInt64Seconds(options_.clock_skew));
  const long max_age =
      next_update == nullptr
          ? static_cast<long>(absl::ToInt64Seconds(options_.max_age_without_next_update))
          : -1;
  if (OCSP_check_validity(this_update, next_update, skew, max_age) != 1) {
    return OpenSslFailure(url, "the response is not current");
  }
  OcspAnswer answer;
  answer.responder = url;
  answer.this_update = TimeOf(this_update);
  answer.next_update = TimeOf(next_update);
  switch (status) {
    case V_OCSP_CERTSTATUS_GOOD:
      answer.status = OcspStatus::kGood;
      break;
    case V_OCSP_CERTSTATUS_REVOKED:
      answer.status = OcspStatus::kRevoked;
      answer.revoked_at = TimeOf(revoked_at);
      answer.reason = reason;
      break;
    default:
      answer.status = OcspStatus::kUnknown;
      break;
  }
  return answer;
}

OcspClient::Counters OcspClient::counters() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counters_;
}

}  // namespace signet::pki
