// GET /metrics in the Prometheus text format: the one way signetd and
// signet-milter serve their counters.
#ifndef SIGNET_APPLIANCE_HTTP_METRICS_LISTENER_H_
#define SIGNET_APPLIANCE_HTTP_METRICS_LISTENER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "appliance/http/http_listener.h"

namespace signet::http {

// Listening on `address` (an IP literal and port, ParseListenAddress's
// errors otherwise) when this returns; `text` is called for each scrape, on
// the listener's one thread.
absl::StatusOr<std::unique_ptr<HttpListener>> StartMetricsListener(
    const std::string& address, std::function<std::string()> text);

}  // namespace signet::http

#endif  // SIGNET_APPLIANCE_HTTP_METRICS_LISTENER_H_
