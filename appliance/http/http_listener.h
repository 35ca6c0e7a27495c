// One plain-HTTP endpoint of signetd: one path, one method, one media type
// each way, and a handler that turns the request body into the reply body.
// An endpoint that needs more (the public certificate directory: a path
// prefix, the client's address, content negotiation, statuses of its own)
// takes an HttpRequestHandler instead.
// RFC 3161 section 3.4 time-stamps are a POST of application/timestamp-query
// answered with application/timestamp-reply (the defaults); the metrics are
// a GET answered with the Prometheus text format. libmicrohttpd speaks
// HTTP; this file decides what is accepted and bounds what a client can
// hold.
#ifndef SIGNET_APPLIANCE_HTTP_HTTP_LISTENER_H_
#define SIGNET_APPLIANCE_HTTP_HTTP_LISTENER_H_

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

struct MHD_Daemon;

namespace signet::http {

struct HttpListenerOptions {
  // An IPv4 or IPv6 literal; port 0 takes an ephemeral port (see port()).
  std::string address = "127.0.0.1";
  int port = 0;
  // The one path served; any other is 404. Paths are compared after
  // percent-decoding; one with a malformed escape or a decoded control byte
  // (NUL included) is 400.
  std::string path = "/";
  // When true, `path` is a prefix: every path that starts with it is served,
  // and an HttpRequestHandler is given the rest (HttpRequest::path_rest).
  bool path_is_prefix = false;
  // A POST whose Content-Type is this media type (any case, parameters
  // ignored; another is 415), or, when empty, a GET without a body. Any
  // other method is 405. An HttpRequestHandler's GET endpoint takes HEAD
  // too (the same reply without its body).
  std::string request_media_type = "application/timestamp-query";
  // The Content-Type of a reply.
  std::string reply_media_type = "application/timestamp-reply";
  // A larger body is 413. A TimeStampReq is a few hundred bytes.
  size_t max_body_bytes = 64 << 10;
  // Request line and headers (and the read buffer) of one connection; a
  // larger header is refused by libmicrohttpd.
  size_t max_header_bytes = 16 << 10;
  // Connections served at once; more wait in the kernel's listen backlog
  // (holding nothing of the server's) until one closes.
  unsigned max_connections = 64;
  // A connection idle this long is closed (rounded up to whole seconds).
  absl::Duration connection_timeout = absl::Seconds(10);
  // Threads that serve connections (and run the handler).
  unsigned threads = 2;
};

// The reply body for a request body. Runs on the listener's threads, several
// at once; must not throw (a throw closes the connection without a reply).
using HttpHandler = std::function<std::string(std::string body)>;

// A request as an HttpRequestHandler sees it.
struct HttpRequest {
  std::string method;  // "GET", "HEAD", "POST"
  // The percent-decoded path after HttpListenerOptions::path (empty for an
  // exact path). Free of control bytes; the query string is not part of it.
  std::string path_rest;
  // The peer's IP address as text ("192.0.2.1", "2001:db8::1"); an
  // IPv4-mapped IPv6 peer is given as its IPv4 address.
  std::string client_address;
  // The request headers, names lower-cased; a header sent more than once
  // has its values joined with ", " (RFC 9110 section 5.3).
  std::map<std::string, std::string> headers;
  std::string body;

  // The header's value, or empty. `lower_case_name` as stored.
  std::string Header(const std::string& lower_case_name) const {
    auto it = headers.find(lower_case_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// A reply of the handler's choosing. The body is not sent for HEAD.
struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "text/plain";
  std::string body;
  // More headers ("Retry-After", "Cache-Control", ...). A name or value with
  // CR or LF makes libmicrohttpd refuse it, and the connection is closed.
  std::vector<std::pair<std::string, std::string>> headers;
};

// Runs on the listener's threads, several at once; must not throw.
using HttpRequestHandler = std::function<HttpResponse(const HttpRequest& request)>;

class HttpListener {
 public:
  // Listening when this returns. INVALID_ARGUMENT for an address that is not
  // an IP literal or limits of zero; UNAVAILABLE when the socket cannot be
  // bound.
  static absl::StatusOr<std::unique_ptr<HttpListener>> Start(HttpListenerOptions options,
                                                             HttpHandler handler);
  // The same, with a handler that sees the whole request and chooses the
  // whole reply. reply_media_type is unused.
  static absl::StatusOr<std::unique_ptr<HttpListener>> Start(HttpListenerOptions options,
                                                             HttpRequestHandler handler);

  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;
  // Stops.
  ~HttpListener();

  // The bound port (the ephemeral one for port 0).
  int port() const { return port_; }

  // Closes the socket and every connection, after the handler calls running
  // now return. Idempotent.
  void Stop();

  // For the libmicrohttpd callbacks in the .cc.
  const HttpListenerOptions& options() const { return options_; }
  // One of the two is set.
  const HttpHandler& handler() const { return handler_; }
  const HttpRequestHandler& request_handler() const { return request_handler_; }

 private:
  HttpListener(HttpListenerOptions options, HttpHandler handler, HttpRequestHandler request_handler)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        request_handler_(std::move(request_handler)) {}

  static absl::StatusOr<std::unique_ptr<HttpListener>> StartEither(
      HttpListenerOptions options, HttpHandler handler, HttpRequestHandler request_handler);

  const HttpListenerOptions options_;
  const HttpHandler handler_;
  const HttpRequestHandler request_handler_;
  std::mutex mutex_;
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;
};

// Whether a Content-Type value names `media_type` (any case, parameters
// after ';' ignored).
bool IsMediaType(const char* content_type, const std::string& media_type);

// `path` with each %HH replaced by its byte. Nothing for a '%' not followed
// by two hex digits, or a result with a control byte (below 0x20, or 0x7f).
std::optional<std::string> PercentDecodePath(absl::string_view path);

}  // namespace signet::http

#endif  // SIGNET_APPLIANCE_HTTP_HTTP_LISTENER_H_
