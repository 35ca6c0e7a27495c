// The bank's certificates for its customers' mail clients and gateways: a
// read-only HTTP endpoint, no credentials, `GET /certificates/<address>`
// (issue #18). The reply is every certificate published for the address as
// an application/pem-certificate-chain (RFC 8555 section 9.1), or with
// `Accept: application/pkix-cert` (RFC 2585) the DER of the first one.
//
// Anyone may ask, so every request first takes a token from its client's
// bucket (ClientRateLimiter; an IPv6 client is keyed by its /64, which one
// subscriber usually holds whole), answers never say more than the status
// needs, and addresses of domains the bank does not publish are 404 before
// anything is looked up, so the endpoint cannot be used to probe others.
#ifndef SIGNET_APPLIANCE_DIRECTORY_PUBLIC_ENDPOINT_H_
#define SIGNET_APPLIANCE_DIRECTORY_PUBLIC_ENDPOINT_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "appliance/directory/client_rate_limiter.h"
#include "appliance/http/http_listener.h"
#include "appliance/http/listen_address.h"

namespace signet::directory {

// The DER certificates published for a normalized address, best first;
// empty when there are none. The caller decides which certificates are
// public (the store's published ones, never harvested ones). An error is
// logged and answered 503 without its text. Called on the listener's
// threads, several at once.
using PublishedCertificates =
    std::function<absl::StatusOr<std::vector<std::string>>(absl::string_view normalized_address)>;

struct PublicEndpointOptions {
  // Port 0 takes an ephemeral port (tests); a configuration's address is
  // read with http::ParseListenAddress, which refuses it.
  http::ListenAddress listen = {.ip = "127.0.0.1", .port = 0};
  // Per client address (IPv6: per /64).
  double requests_per_second = 5;
  int burst = 20;
  // Client buckets kept; the least recently seen client is forgotten
  // beyond this. A bucket costs about a hundred bytes.
  size_t max_tracked_clients = 100000;
  // The domains whose addresses are answered (compared ignoring case, a
  // subdomain is another domain). Empty: every domain.
  std::vector<std::string> public_domains;
  // Cache-Control max-age of a found reply.
  absl::Duration max_age = absl::Hours(1);
  // libmicrohttpd's limits (see HttpListenerOptions).
  unsigned max_connections = 256;
  unsigned threads = 2;
  absl::Duration connection_timeout = absl::Seconds(10);
};

// The path served; the address follows it, percent-encoded or not.
inline constexpr char kCertificatesPath[] = "/certificates/";

inline constexpr char kPemChainMediaType[] = "application/pem-certificate-chain";
inline constexpr char kPkixCertMediaType[] = "application/pkix-cert";

enum class CertificateFormat { kPemChain, kDer };

// The format an Accept header asks for (RFC 9110 section 12.5.1: the most
// specific matching range gives each type its q; the higher q wins, the PEM
// chain on a tie), or nothing when it allows neither. No header: the PEM
// chain.
std::optional<CertificateFormat> NegotiateCertificateFormat(absl::string_view accept);

// The rate limiter's key for a client address (HttpRequest::client_address):
// an IPv4 address as it is, an IPv6 address as its /64 ("2001:db8:1:2::/64").
// Anything else is its own key (clients of unknown address share one).
std::string RateLimitKey(absl::string_view client_address);

class PublicEndpoint {
 public:
  // Listening when this returns. INVALID_ARGUMENT for a zero rate or burst,
  // a public domain that is not a domain, or a bad listen address;
  // UNAVAILABLE when the socket cannot be bound.
  static absl::StatusOr<std::unique_ptr<PublicEndpoint>> Start(PublicEndpointOptions options,
                                                               PublishedCertificates certificates);

  PublicEndpoint(const PublicEndpoint&) = delete;
  PublicEndpoint& operator=(const PublicEndpoint&) = delete;
  ~PublicEndpoint();

  int port() const { return listener_->port(); }
  // Clients with a bucket now (at most max_tracked_clients).
  size_t tracked_clients() const { return limiter_.tracked_clients(); }
  // Idempotent; the destructor stops too.
  void Stop() { listener_->Stop(); }

 private:
  PublicEndpoint(PublicEndpointOptions options, std::vector<std::string> domains,
                 PublishedCertificates certificates);

  http::HttpResponse Answer(const http::HttpRequest& request);
  http::HttpResponse Found(const std::vector<std::string>& certificates,
                           CertificateFormat format) const;

  const PublicEndpointOptions options_;
  // Lower-cased.
  const std::vector<std::string> domains_;
  const PublishedCertificates certificates_;
  ClientRateLimiter limiter_;
  // Last: stopped (its handler calls returned) before the rest goes.
  std::unique_ptr<http::HttpListener> listener_;
};

}  // namespace signet::directory

#endif  // SIGNET_APPLIANCE_DIRECTORY_PUBLIC_ENDPOINT_H_
