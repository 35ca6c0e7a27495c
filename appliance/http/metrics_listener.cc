#include "appliance/http/metrics_listener.h"

#include <utility>

#include "appliance/http/listen_address.h"
#include "common/status_macros.h"

namespace signet::http {

absl::StatusOr<std::unique_ptr<HttpListener>> StartMetricsListener(
    const std::string& address, std::function<std::string()> text) {
  ASSIGN_OR_RETURN(ListenAddress listen, ParseListenAddress(address));
  HttpListenerOptions options;
  options.address = listen.ip;
  options.port = listen.port;
  options.path = "/metrics";
  options.request_media_type.clear();  // GET
  options.reply_media_type = "text/plain; version=0.0.4; charset=utf-8";
  // Scrapers are few and ask rarely.
  options.max_connections = 8;
  options.threads = 1;
  return HttpListener::Start(std::move(options),
                             [text = std::move(text)](std::string /*body*/) { return text(); });
}

}  // namespace signet::http
