#include "appliance/http/listen_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace signet::http {

absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view text) {
  const auto refuse = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "' is not an IP address and port (\"127.0.0.1:9464\", \"[::1]:9464\")"));
  };
  const size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos) return refuse();
  absl::string_view host = text.substr(0, colon);
  int port = 0;
  if (!absl::SimpleAtoi(text.substr(colon + 1), &port) || port < 1 || port > 65535) {
    return refuse();
  }
  ListenAddress address;
  address.port = port;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    address.ip = std::string(host.substr(1, host.size() - 2));
    in6_addr v6;
    if (inet_pton(AF_INET6, address.ip.c_str(), &v6) != 1) return refuse();
    return address;
  }
  address.ip = std::string(host);
  in_addr v4;
  if (inet_pton(AF_INET, address.ip.c_str(), &v4) != 1) return refuse();
  return address;
}

}  // namespace signet::http
