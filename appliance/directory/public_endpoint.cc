#include "appliance/directory/public_endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "appliance/directory/email_address.h"
#include "common/log.h"
#include "common/ossl_ptr.h"
#include "common/status_macros.h"

namespace signet::directory {
namespace {

// Errors say what the status says and no more: nothing of the store, the
// callback's error or the configuration.
http::HttpResponse Plain(unsigned status, absl::string_view text) {
  return http::HttpResponse{
      .status = status,
      .content_type = "text/plain; charset=utf-8",
      .body = absl::StrCat(text, "\n"),
      .headers = {{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}}};
}

http::HttpResponse NotFound() {
  return Plain(404, "no certificates are published for this address");
}

// q of an Accept element ("q=0.5"); a malformed q counts as 0, so that a
// range nobody can read allows nothing.
double Quality(absl::string_view parameters) {
  for (absl::string_view parameter : absl::StrSplit(parameters, ';')) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(parameter, '=');
    if (!absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(kv.first), "q")) continue;
    double q = 0;
    if (!absl::SimpleAtod(absl::StripAsciiWhitespace(kv.second), &q) || !std::isfinite(q)) {
      return 0;
    }
    return std::clamp(q, 0.0, 1.0);
  }
  return 1;
}

// The q the Accept header gives `media_type` (lower case): that of its most
// specific matching range, 0 when none matches.
double QualityOf(absl::string_view accept, absl::string_view media_type) {
  const absl::string_view type = media_type.substr(0, media_type.find('/'));
  int best_specificity = 0;
  double quality = 0;
  for (absl::string_view element : absl::StrSplit(accept, ',')) {
    const size_t semicolon = element.find(';');
    const std::string range =
        absl::AsciiStrToLower(absl::StripAsciiWhitespace(element.substr(0, semicolon)));
    int specificity = 0;
    if (range == media_type) {
      specificity = 3;
    } else if (range == absl::StrCat(type, "/*")) {
      specificity = 2;
    } else if (range == "*/*") {
      specificity = 1;
    }
    if (specificity > best_specificity) {
      best_specificity = specificity;
      quality = semicolon == absl::string_view::npos ? 1 : Quality(element.substr(semicolon + 1));
    }
  }
  return quality;
}

}  // namespace

// One subscriber is given a whole IPv6 /64 and may send from any address in
// it: keyed by address, it would have 2^64 buckets.
std::string RateLimitKey(absl::string_view client_address) {
  const std::string address(client_address);
  in6_addr v6 = {};
  if (inet_pton(AF_INET6, address.c_str(), &v6) != 1) return address;
  std::fill(v6.s6_addr + 8, v6.s6_addr + 16, 0);
  char text[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(AF_INET6, &v6, text, sizeof(text)) == nullptr) return address;
  return absl::StrCat(text, "/64");
}

std::optional<CertificateFormat> NegotiateCertificateFormat(absl::string_view accept) {
  if (absl::StripAsciiWhitespace(accept).empty()) return CertificateFormat::kPemChain;
  const double pem = QualityOf(accept, kPemChainMediaType);
  const double der = QualityOf(accept, kPkixCertMediaType);
  if (pem <= 0 && der <= 0) return std::nullopt;
  return der > pem ? CertificateFormat::kDer : CertificateFormat::kPemChain;
}

absl::StatusOr<std::unique_ptr<PublicEndpoint>> PublicEndpoint::Start(
    PublicEndpointOptions options, PublishedCertificates certificates) {
  if (!certificates) return absl::InvalidArgumentError("the public endpoint needs certificates");
  if (!(options.requests_per_second > 0) || options.burst < 1 || options.max_tracked_clients == 0) {
    return absl::InvalidArgumentError(
        "the public endpoint's rate, burst and tracked clients must be positive");
  }
  std::vector<std::string> domains;
  for (const std::string& domain : options.public_domains) {
    // A domain is what follows '@' in an address NormalizeAddress accepts.
    absl::StatusOr<std::string> address = NormalizeAddress(absl::StrCat("postmaster@", domain));
    if (!address.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("public domain '", domain.substr(0, 64), "' is not a domain name"));
    }
    domains.push_back(address->substr(address->find('@') + 1));
  }
  std::unique_ptr<PublicEndpoint> endpoint(
      new PublicEndpoint(std::move(options), std::move(domains), std::move(certificates)));
  const PublicEndpointOptions& o = endpoint->options_;
  http::HttpListenerOptions listener_options;
  listener_options.address = o.listen.ip;
  listener_options.port = o.listen.port;
  listener_options.path = kCertificatesPath;
  listener_options.path_is_prefix = true;
  listener_options.request_media_type.clear();  // GET (and HEAD)
  // A GET has no body; the smallest limit libmicrohttpd's wrapper takes.
  listener_options.max_body_bytes = 1;
  // An address is at most 254 bytes, thrice that escaped; the rest is a
  // client's ordinary headers.
  listener_options.max_header_bytes = 8 << 10;
  listener_options.max_connections = o.max_connections;
  listener_options.threads = o.threads;
  listener_options.connection_timeout = o.connection_timeout;
  PublicEndpoint* self = endpoint.get();
  ASSIGN_OR_RETURN(endpoint->listener_,
                   http::HttpListener::Start(
                       std::move(listener_options),
                       [self](const http::HttpRequest& request) { return self->Answer(request); }));
  return endpoint;
}

PublicEndpoint::PublicEndpoint(PublicEndpointOptions options, std::vector<std::string> domains,
                               PublishedCertificates certificates)
    : options_(std::move(options)),
      domains_(std::move(domains)),
      certificates_(std::move(certificates)),
      limiter_(options_.requests_per_second, options_.burst, options_.max_tracked_clients) {}

PublicEndpoint::~PublicEndpoint() {
  if (listener_ != nullptr) listener_->Stop();
}

http::HttpResponse PublicEndpoint::Answer(const http::HttpRequest& request) {
  // Before anything else, so that malformed and foreign requests are paid
  // for too.
  const absl::Duration wait = limiter_.Acquire(RateLimitKey(request.client_address), absl::Now());
  if (wait > absl::ZeroDuration()) {
    http::HttpResponse refused = Plain(429, "too many requests");
    refused.headers.emplace_back("Retry-After",
                                 absl::StrCat(std::max<int64_t>(
                                     1, absl::ToInt64Seconds(absl::Ceil(wait, absl::Seconds(1))))));
    return refused;
  }
  absl::StatusOr<std::string> address = NormalizeAddress(request.path_rest);
  // NormalizeAddress's reason shows at most 64 bytes of the path, control
  // bytes and non-ASCII replaced.
  if (!address.ok()) return Plain(400, address.status().message());
  if (!domains_.empty()) {
    const absl::string_view domain = absl::string_view(*address).substr(address->find('@') + 1);
    if (std::find(domains_.begin(), domains_.end(), domain) == domains_.end()) return NotFound();
  }
  const std::optional<CertificateFormat> format =
      NegotiateCertificateFormat(request.Header("accept"));
  if (!format.has_value()) {
    return Plain(406, absl::StrCat("the certificates are available as ", kPemChainMediaType,
                                   " and ", kPkixCertMediaType));
  }
  absl::StatusOr<std::vector<std::string>> found = certificates_(*address);
  if (!found.ok()) {
    Log(LogLevel::kError, absl::StrCat("public directory: looking up ", *address,
                                       " failed: ", found.status().ToString()));
    return Plain(503, "the directory is unavailable; try again later");
  }
  if (found->empty()) return NotFound();
  return Found(*found, *format);
}

http::HttpResponse PublicEndpoint::Found(const std::vector<std::string>& certificates,
                                         CertificateFormat format) const {
  // Each certificate is parsed before it is published: a broken entry in
  // the store is logged and left out rather than sent to customers.
  std::string body;
  size_t published = 0;
  for (const std::string& der : certificates) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    X509Ptr certificate(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (certificate == nullptr ||
        p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
      Log(LogLevel::kError, "public directory: a published certificate is not DER; left out");
      continue;
    }
    ++published;
    if (format == CertificateFormat::kDer) {
      body = der;
      break;
    }
    BioPtr bio(BIO_new(BIO_s_mem()));
    char* data = nullptr;
    if (bio == nullptr || PEM_write_bio_X509(bio.get(), certificate.get()) != 1) {
      Log(LogLevel::kError, "public directory: cannot write PEM");
      return Plain(503, "the directory is unavailable; try again later");
    }
    const long length = BIO_get_mem_data(bio.get(), &data);
    body.append(data, static_cast<size_t>(length));
  }
  if (published == 0) return Plain(503, "the directory is unavailable; try again later");
  return http::HttpResponse{
      .status = 200,
      .content_type = format == CertificateFormat::kDer ? kPkixCertMediaType : kPemChainMediaType,
      .body = std::move(body),
      .headers = {{"Cache-Control",
                   absl::StrCat("public, max-age=", absl::ToInt64Seconds(options_.max_age))},
                  {"Vary", "Accept"},
                  {"X-Content-Type-Options", "nosniff"}}};
}

}  // namespace signet::directory
