// One plain-HTTP endpoint of signetd: one path, one method, one media type
// each way, and a handler that turns the request body into the reply body.
// RFC 3161 section 3.4 time-stamps are a POST of application/timestamp-query
// answered with application/timestamp-reply (the defaults); the metrics are
// a GET answered with the Prometheus text format. libmicrohttpd speaks
// HTTP; this file decides what is accepted and bounds what a client can
// hold.
#ifndef SIGNET_APPLIANCE_HTTP_HTTP_LISTENER_H_
#define SIGNET_APPLIANCE_HTTP_HTTP_LISTENER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

struct MHD_Daemon;

namespace signet::http {

struct HttpListenerOptions {
  // An IPv4 or IPv6 literal; port 0 takes an ephemeral port (see port()).
  std::string address = "127.0.0.1";
  int port = 0;
  // The one path served; any other is 404.
  std::string path = "/";
  // A POST whose Content-Type is this media type (any case, parameters
  // ignored; another is 415), or, when empty, a GET without a body. Any
  // other method is 405.
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

class HttpListener {
 public:
  // Listening when this returns. INVALID_ARGUMENT for an address that is not
  // an IP literal or limits of zero; UNAVAILABLE when the socket cannot be
  // bound.
  static absl::StatusOr<std::unique_ptr<HttpListener>> Start(HttpListenerOptions options,
                                                             HttpHandler handler);

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
  const HttpHandler& handler() const { return handler_; }

 private:
  HttpListener(HttpListenerOptions options, HttpHandler handler)
      : options_(std::move(options)), handler_(std::move(handler)) {}

  const HttpListenerOptions options_;
  const HttpHandler handler_;
  std::mutex mutex_;
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;
};

// Whether a Content-Type value names `media_type` (any case, parameters
// after ';' ignored).
bool IsMediaType(const char* content_type, const std::string& media_type);

}  // namespace signet::http

#endif  // SIGNET_APPLIANCE_HTTP_HTTP_LISTENER_H_
