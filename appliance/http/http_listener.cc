#include "appliance/http/http_listener.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace signet::http {
namespace {

// One request, from its headers to its reply.
struct Exchange {
  // The percent-decoded path after options.path.
  std::string path_rest;
  std::string body;
  bool too_large = false;
  // A refusal was queued before the body: the rest of it is dropped.
  bool answered = false;
};

// `allow`: the method to name in the Allow header of a 405, or null.
MHD_Result Reply(MHD_Connection* connection, unsigned status, const std::string& body,
                 const char* content_type, const char* allow = nullptr,
                 const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  MHD_Response* response = MHD_create_response_from_buffer(
      body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;
  MHD_Result result = MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
  if (result == MHD_YES && allow != nullptr) {
    result = MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, allow);
  }
  for (const auto& [name, value] : headers) {
    if (result == MHD_YES) result = MHD_add_response_header(response, name.c_str(), value.c_str());
  }
  if (result == MHD_YES) result = MHD_queue_response(connection, status, response);
  MHD_destroy_response(response);
  return result;
}

MHD_Result Refuse(MHD_Connection* connection, unsigned status, const std::string& why,
                  const char* allow = nullptr) {
  return Reply(connection, status, absl::StrCat(why, "\n"), "text/plain", allow);
}

bool TakesPost(const HttpListenerOptions& options) { return !options.request_media_type.empty(); }

// An HttpRequestHandler's GET endpoint also answers HEAD, which
// libmicrohttpd sends without the body.
bool TakesHead(const HttpListener& listener) {
  return !TakesPost(listener.options()) && listener.request_handler() != nullptr;
}

// For the Allow header and the 405's text.
const char* MethodsOf(const HttpListener& listener) {
  if (TakesPost(listener.options())) return MHD_HTTP_METHOD_POST;
  return TakesHead(listener) ? "GET, HEAD" : MHD_HTTP_METHOD_GET;
}

bool MethodAllowed(const HttpListener& listener, const char* method) {
  if (TakesPost(listener.options())) return std::strcmp(method, MHD_HTTP_METHOD_POST) == 0;
  return std::strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
         (TakesHead(listener) && std::strcmp(method, MHD_HTTP_METHOD_HEAD) == 0);
}

// The refusal a request's headers already earn, or 0. Sets *path_rest.
unsigned CheckHeaders(const HttpListener& listener, MHD_Connection* connection, const char* url,
                      const char* method, std::string* path_rest) {
  const HttpListenerOptions& options = listener.options();
  // libmicrohttpd leaves the path escaped (see UnescapeNothing): decoding
  // here sees a %00 that its own decoding would turn into the string's end.
  std::optional<std::string> path = PercentDecodePath(url);
  if (!path.has_value()) return MHD_HTTP_BAD_REQUEST;
  if (options.path_is_prefix) {
    if (!absl::StartsWith(*path, options.path)) return MHD_HTTP_NOT_FOUND;
    *path_rest = path->substr(options.path.size());
  } else if (*path != options.path) {
    return MHD_HTTP_NOT_FOUND;
  }
  if (!MethodAllowed(listener, method)) return MHD_HTTP_METHOD_NOT_ALLOWED;
  if (TakesPost(options) && !IsMediaType(MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                                     MHD_HTTP_HEADER_CONTENT_TYPE),
                                         options.request_media_type)) {
    return MHD_HTTP_UNSUPPORTED_MEDIA_TYPE;
  }
  // A declared length over the limit is refused before a byte of the body
  // is read; a chunked body is counted as it comes.
  const char* length =
      MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
  uint64_t declared = 0;
  if (length != nullptr && absl::SimpleAtoi(length, &declared) &&
      declared > options.max_body_bytes) {
    return MHD_HTTP_CONTENT_TOO_LARGE;
  }
  return 0;
}

MHD_Result RefuseFor(const HttpListener& listener, MHD_Connection* connection, unsigned status) {
  const HttpListenerOptions& options = listener.options();
  switch (status) {
    case MHD_HTTP_BAD_REQUEST:
      return Refuse(connection, status, "malformed path");
    case MHD_HTTP_NOT_FOUND:
      return Refuse(connection, status, "not found");
    case MHD_HTTP_METHOD_NOT_ALLOWED:
      return Refuse(connection, status, absl::StrCat("the method must be ", MethodsOf(listener)),
                    MethodsOf(listener));
    case MHD_HTTP_UNSUPPORTED_MEDIA_TYPE:
      return Refuse(connection, status,
                    absl::StrCat("the Content-Type must be ", options.request_media_type));
    default:
      return Refuse(connection, MHD_HTTP_CONTENT_TOO_LARGE, "the request is too large");
  }
}

std::string ClientAddress(MHD_Connection* connection) {
  const MHD_ConnectionInfo* info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (info == nullptr || info->client_addr == nullptr) return std::string();
  char text[INET6_ADDRSTRLEN] = {};
  const sockaddr* address = info->client_addr;
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    if (inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text)) == nullptr) return std::string();
  } else if (address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    // A dual-stack socket shows IPv4 peers as ::ffff:a.b.c.d; they are the
    // same client as a.b.c.d.
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
      if (inet_ntop(AF_INET, &v6->sin6_addr.s6_addr[12], text, sizeof(text)) == nullptr) {
        return std::string();
      }
    } else if (inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text)) == nullptr) {
      return std::string();
    }
  }
  return text;
}

MHD_Result CollectHeader(void* headers, MHD_ValueKind /*kind*/, const char* key,
                         const char* value) {
  auto& map = *static_cast<std::map<std::string, std::string>*>(headers);
  std::string& joined = map[absl::AsciiStrToLower(key)];
  if (!joined.empty()) joined.append(", ");
  if (value != nullptr) joined.append(value);
  return MHD_YES;
}

MHD_Result HandleRequest(const HttpListener& listener, MHD_Connection* connection, const char* url,
                         const char* method, const char* upload_data, size_t* upload_data_size,
                         void** state) {
  const HttpListenerOptions& options = listener.options();
  auto* exchange = static_cast<Exchange*>(*state);
  if (exchange == nullptr) {
    // The first call has the headers only.
    exchange = new Exchange();
    *state = exchange;
    if (const unsigned refusal =
            CheckHeaders(listener, connection, url, method, &exchange->path_rest);
        refusal != 0) {
      exchange->answered = true;
      return RefuseFor(listener, connection, refusal);
    }
    return MHD_YES;
  }
  if (*upload_data_size > 0) {
    if (!exchange->answered && !exchange->too_large) {
      if (exchange->body.size() + *upload_data_size > options.max_body_bytes) {
        // Nothing more is kept; what still comes is read and dropped.
        exchange->too_large = true;
        exchange->body.clear();
        exchange->body.shrink_to_fit();
      } else {
        exchange->body.append(upload_data, *upload_data_size);
      }
    }
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (exchange->answered) return MHD_YES;
  exchange->answered = true;
  if (exchange->too_large) return RefuseFor(listener, connection, MHD_HTTP_CONTENT_TOO_LARGE);
  if (listener.handler()) {
    const std::string reply = listener.handler()(std::move(exchange->body));
    return Reply(connection, MHD_HTTP_OK, reply, options.reply_media_type.c_str());
  }
  HttpRequest request;
  request.method = method;
  request.path_rest = std::move(exchange->path_rest);
  request.client_address = ClientAddress(connection);
  MHD_get_connection_values(connection, MHD_HEADER_KIND, &CollectHeader, &request.headers);
  request.body = std::move(exchange->body);
  const HttpResponse response = listener.request_handler()(request);
  return Reply(connection, response.status, response.body, response.content_type.c_str(), nullptr,
               response.headers);
}

// The path reaches the access handler as sent; CheckHeaders decodes it.
size_t UnescapeNothing(void* /*cls*/, MHD_Connection* /*connection*/, char* text) {
  return std::strlen(text);
}

MHD_Result AccessHandler(void* listener, MHD_Connection* connection, const char* url,
                         const char* method, const char* /*version*/, const char* upload_data,
                         size_t* upload_data_size, void** state) {
  // An exception must not unwind through libmicrohttpd's C frames; the
  // connection is closed instead.
  try {
    return HandleRequest(*static_cast<const HttpListener*>(listener), connection, url, method,
                         upload_data, upload_data_size, state);
  } catch (const std::exception& e) {
    Log(LogLevel::kError, absl::StrCat("HTTP request failed: ", e.what()));
    return MHD_NO;
  }
}

void RequestCompleted(void* /*cls*/, MHD_Connection* /*connection*/, void** state,
                      MHD_RequestTerminationCode /*code*/) {
  delete static_cast<Exchange*>(*state);
  *state = nullptr;
}

bool HexValue(char c, int* value) {
  if (c >= '0' && c <= '9') {
    *value = c - '0';
  } else if (c >= 'a' && c <= 'f') {
    *value = c - 'a' + 10;
  } else if (c >= 'A' && c <= 'F') {
    *value = c - 'A' + 10;
  } else {
    return false;
  }
  return true;
}

void LogFromMhd(void* /*cls*/, const char* format, va_list arguments) {
  char line[512];
  std::vsnprintf(line, sizeof(line), format, arguments);
  Log(LogLevel::kWarning,
      absl::StrCat("HTTP listener: ", absl::StripTrailingAsciiWhitespace(line)));
}

}  // namespace

bool IsMediaType(const char* content_type, const std::string& media_type) {
  if (content_type == nullptr) return false;
  absl::string_view given = content_type;
  given = given.substr(0, given.find(';'));
  return absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(given), media_type);
}

std::optional<std::string> PercentDecodePath(absl::string_view path) {
  std::string decoded;
  decoded.reserve(path.size());
  for (size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (c == '%') {
      int high = 0;
      int low = 0;
      if (path.size() - i < 3) return std::nullopt;
      if (!HexValue(path[i + 1], &high) || !HexValue(path[i + 2], &low)) return std::nullopt;
      c = static_cast<char>(high * 16 + low);
      i += 2;
    }
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return std::nullopt;
    decoded.push_back(c);
  }
  return decoded;
}

absl::StatusOr<std::unique_ptr<HttpListener>> HttpListener::Start(HttpListenerOptions options,
                                                                  HttpHandler handler) {
  if (!handler) return absl::InvalidArgumentError("an HTTP listener needs a handler");
  return StartEither(std::move(options), std::move(handler), nullptr);
}

absl::StatusOr<std::unique_ptr<HttpListener>> HttpListener::Start(HttpListenerOptions options,
                                                                  HttpRequestHandler handler) {
  if (!handler) return absl::InvalidArgumentError("an HTTP listener needs a handler");
  return StartEither(std::move(options), nullptr, std::move(handler));
}

absl::StatusOr<std::unique_ptr<HttpListener>> HttpListener::StartEither(
    HttpListenerOptions options, HttpHandler handler, HttpRequestHandler request_handler) {
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("HTTP listener port ", options.port));
  }
  if (options.max_body_bytes == 0 || options.max_header_bytes == 0 ||
      options.max_connections == 0 || options.threads == 0 ||
      options.connection_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("HTTP listener limits must not be zero");
  }
  sockaddr_storage address = {};
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
  const auto port = htons(static_cast<uint16_t>(options.port));
  if (auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
      inet_pton(AF_INET, options.address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = port;
  } else if (auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
             inet_pton(AF_INET6, options.address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = port;
    flags |= MHD_USE_IPv6;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("HTTP listener address '", options.address, "' is not an IP address"));
  }
  const auto timeout_seconds = static_cast<unsigned>(
      absl::ToInt64Seconds(absl::Ceil(options.connection_timeout, absl::Seconds(1))));

  std::unique_ptr<HttpListener> listener(
      new HttpListener(std::move(options), std::move(handler), std::move(request_handler)));
  const HttpListenerOptions& o = listener->options_;
  errno = 0;
  listener->daemon_ = MHD_start_daemon(
      flags, static_cast<uint16_t>(o.port), nullptr, nullptr, &AccessHandler, listener.get(),
      MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&address), MHD_OPTION_CONNECTION_LIMIT,
      o.max_connections, MHD_OPTION_CONNECTION_TIMEOUT, timeout_seconds,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, o.max_header_bytes, MHD_OPTION_THREAD_POOL_SIZE,
      o.threads, MHD_OPTION_NOTIFY_COMPLETED, &RequestCompleted, nullptr,
      MHD_OPTION_EXTERNAL_LOGGER, &LogFromMhd, nullptr, MHD_OPTION_UNESCAPE_CALLBACK,
      &UnescapeNothing, nullptr, MHD_OPTION_END);
  if (listener->daemon_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for HTTP on ", o.address, ":", o.port,
                     errno != 0 ? absl::StrCat(": ", std::strerror(errno)) : std::string()));
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(listener->daemon_, MHD_DAEMON_INFO_BIND_PORT);
  if (info == nullptr || info->port == 0) {
    return absl::InternalError("the HTTP listener's port is unknown");
  }
  listener->port_ = info->port;
  return listener;
}

HttpListener::~HttpListener() { Stop(); }

void HttpListener::Stop() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (daemon_ != nullptr) {
    MHD_stop_daemon(daemon_);
    daemon_ = nullptr;
  }
}

}  // namespace signet::http
