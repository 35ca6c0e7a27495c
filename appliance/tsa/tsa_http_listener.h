// RFC 3161 section 3.4, time-stamps over HTTP: a POST of a DER TimeStampReq
// with Content-Type application/timestamp-query, answered 200 with
// application/timestamp-reply. libmicrohttpd speaks HTTP; this file decides
// what is accepted and bounds what a client can hold. It knows nothing of
// time-stamps: the handler turns a request body into a reply body.
#ifndef SIGNET_APPLIANCE_TSA_TSA_HTTP_LISTENER_H_
#define SIGNET_APPLIANCE_TSA_TSA_HTTP_LISTENER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

struct MHD_Daemon;

namespace signet::tsa {

struct TsaHttpListenerOptions {
  // An IPv4 or IPv6 literal; port 0 takes an ephemeral port (see port()).
  std::string address = "127.0.0.1";
  int port = 0;
  // The one path served; any other is 404.
  std::string path = "/";
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
using TsaHttpHandler = std::function<std::string(std::string body)>;

class TsaHttpListener {
 public:
  // Listening when this returns. INVALID_ARGUMENT for an address that is not
  // an IP literal or limits of zero; UNAVAILABLE when the socket cannot be
  // bound.
  static absl::StatusOr<std::unique_ptr<TsaHttpListener>> Start(TsaHttpListenerOptions options,
                                                                TsaHttpHandler handler);

  TsaHttpListener(const TsaHttpListener&) = delete;
  TsaHttpListener& operator=(const TsaHttpListener&) = delete;
  // Stops.
  ~TsaHttpListener();

  // The bound port (the ephemeral one for port 0).
  int port() const { return port_; }

  // Closes the socket and every connection, after the handler calls running
  // now return. Idempotent.
  void Stop();

  // For the libmicrohttpd callbacks in the .cc.
  const TsaHttpListenerOptions& options() const { return options_; }
  const TsaHttpHandler& handler() const { return handler_; }

 private:
  TsaHttpListener(TsaHttpListenerOptions options, TsaHttpHandler handler)
      : options_(std::move(options)), handler_(std::move(handler)) {}

  const TsaHttpListenerOptions options_;
  const TsaHttpHandler handler_;
  std::mutex mutex_;
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;
};

// Whether a Content-Type value names application/timestamp-query (any case,
// parameters after ';' ignored).
bool IsTimestampQueryType(const char* content_type);

}  // namespace signet::tsa

#endif  // SIGNET_APPLIANCE_TSA_TSA_HTTP_LISTENER_H_
