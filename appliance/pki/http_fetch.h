// One HTTP exchange for revocation data: a CRL by GET, an OCSP response by
// POST. Plain http: only (RFC 5280 section 4.2.1.13 and RFC 6960 Appendix A:
// the data is signed, and a TLS fetch of a CRL can itself need revocation
// checking), no redirects, no proxy from the environment, a bounded size and
// time. OpenSSL's HTTP client does the protocol.
#ifndef SIGNET_APPLIANCE_PKI_HTTP_FETCH_H_
#define SIGNET_APPLIANCE_PKI_HTTP_FETCH_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace signet::pki {

struct HttpRequest {
  std::string url;
  // Empty: GET. Otherwise POSTed with `content_type`.
  std::string body;
  std::string content_type;
  // The response must carry this content type (a prefix before ';' is
  // enough); empty accepts any.
  std::string expected_content_type;
  // Rounded up to whole seconds, the HTTP client's unit; at least one.
  absl::Duration timeout = absl::Seconds(5);
  size_t max_response_bytes = 20 << 20;
};

// The response body. INVALID_ARGUMENT for a URL that is not http:, and
// UNAVAILABLE for every failure of the exchange (connection, timeout, an
// HTTP error status, a redirect, a body over the limit or not DER).
absl::StatusOr<std::string> HttpTransfer(const HttpRequest& request);

}  // namespace signet::pki

#endif  // SIGNET_APPLIANCE_PKI_HTTP_FETCH_H_
