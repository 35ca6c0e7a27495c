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
#include <string>

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
  std::string body;
  bool too_large = false;
  // A refusal was queued before the body: the rest of it is dropped.
  bool answered = false;
};

// `allow`: the method to name in the Allow header of a 405, or null.
MHD_Result Reply(MHD_Connection* connection, unsigned status, const std::string& body,
                 const char* content_type, const char* allow = nullptr) {
  MHD_Response* response = MHD_create_response_from_buffer(
      body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;
  MHD_Result result = MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
  if (result == MHD_YES && allow != nullptr) {
    result = MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, allow);
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

const char* MethodOf(const HttpListenerOptions& options) {
  return TakesPost(options) ? MHD_HTTP_METHOD_POST : MHD_HTTP_METHOD_GET;
}

// The refusal a request's headers already earn, or 0.
unsigned CheckHeaders(const HttpListenerOptions& options, MHD_Connection* connection,
                      const char* url, const char* method) {
  if (options.path != url) return MHD_HTTP_NOT_FOUND;
  if (std::strcmp(method, MethodOf(options)) != 0) return MHD_HTTP_METHOD_NOT_ALLOWED;
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

MHD_Result RefuseFor(const HttpListenerOptions& options, MHD_Connection* connection,
                     unsigned status) {
  switch (status) {
    case MHD_HTTP_NOT_FOUND:
      return Refuse(connection, status, "not found");
    case MHD_HTTP_METHOD_NOT_ALLOWED:
      return Refuse(connection, status, absl::StrCat("the method must be ", MethodOf(options)),
                    MethodOf(options));
    case MHD_HTTP_UNSUPPORTED_MEDIA_TYPE:
      return Refuse(connection, status,
                    absl::StrCat("the Content-Type must be ", options.request_media_type));
    default:
      return Refuse(connection, MHD_HTTP_CONTENT_TOO_LARGE, "the request is too large");
  }
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
    if (const unsigned refusal = CheckHeaders(options, connection, url, method); refusal != 0) {
      exchange->answered = true;
      return RefuseFor(options, connection, refusal);
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
  if (exchange->too_large) return RefuseFor(options, connection, MHD_HTTP_CONTENT_TOO_LARGE);
  const std::string reply = listener.handler()(std::move(exchange->body));
  return Reply(connection, MHD_HTTP_OK, reply, options.reply_media_type.c_str());
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

absl::StatusOr<std::unique_ptr<HttpListener>> HttpListener::Start(HttpListenerOptions options,
                                                                  HttpHandler handler) {
  if (!handler) return absl::InvalidArgumentError("an HTTP listener needs a handler");
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

  std::unique_ptr<HttpListener> listener(new HttpListener(std::move(options), std::move(handler)));
  const HttpListenerOptions& o = listener->options_;
  errno = 0;
  listener->daemon_ = MHD_start_daemon(
      flags, static_cast<uint16_t>(o.port), nullptr, nullptr, &AccessHandler, listener.get(),
      MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&address), MHD_OPTION_CONNECTION_LIMIT,
      o.max_connections, MHD_OPTION_CONNECTION_TIMEOUT, timeout_seconds,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, o.max_header_bytes, MHD_OPTION_THREAD_POOL_SIZE,
      o.threads, MHD_OPTION_NOTIFY_COMPLETED, &RequestCompleted, nullptr,
      MHD_OPTION_EXTERNAL_LOGGER, &LogFromMhd, nullptr, MHD_OPTION_END);
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
