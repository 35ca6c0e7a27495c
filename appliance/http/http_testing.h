// A raw HTTP/1.1 exchange over loopback for the listener's tests: the test
// writes the request bytes itself (wrong methods, content types, oversized
// or chunked bodies, huge headers) and reads the status and body back.
// Header-only, tests only; the server under test is what is being judged.
#ifndef SIGNET_APPLIANCE_HTTP_HTTP_TESTING_H_
#define SIGNET_APPLIANCE_HTTP_HTTP_TESTING_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/unique_fd.h"

namespace signet::http::testing {

struct HttpReply {
  int status = 0;
  std::string content_type;
  std::string body;
  std::string head;  // the status line and headers
};

// Sends `request` as is to 127.0.0.1:port and reads until the server closes
// the connection (requests should say "Connection: close"). A receive
// timeout bounds a server that never answers. `source`: the loopback
// address to send from ("127.0.0.2": all of 127/8 is the loopback on
// Linux), to be seen as another client; empty: the kernel's choice.
inline absl::StatusOr<HttpReply> RawHttpFrom(const std::string& source, int port,
                                             const std::string& request) {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return absl::InternalError("socket");
  timeval timeout = {.tv_sec = 30, .tv_usec = 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  if (!source.empty()) {
    sockaddr_in local = {};
    local.sin_family = AF_INET;
    if (inet_pton(AF_INET, source.c_str(), &local.sin_addr) != 1 ||
        bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
      return absl::InternalError("bind " + source);
    }
  }
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    return absl::UnavailableError("connect");
  }
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    // The server may answer and close before reading all of a body it
    // refuses; the reply is still there to read.
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string received;
  char buffer[4096];
  for (;;) {
    ssize_t n = recv(fd.get(), buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    received.append(buffer, static_cast<size_t>(n));
  }
  const size_t end = received.find("\r\n\r\n");
  if (end == std::string::npos) return absl::UnavailableError("no reply: " + received);
  HttpReply reply;
  reply.head = received.substr(0, end);
  reply.body = received.substr(end + 4);
  if (received.size() < 12 || !absl::SimpleAtoi(received.substr(9, 3), &reply.status)) {
    return absl::UnavailableError("bad status line: " + reply.head);
  }
  const std::string lower = absl::AsciiStrToLower(reply.head);
  if (size_t at = lower.find("\r\ncontent-type:"); at != std::string::npos) {
    const size_t start = at + 15;
    reply.content_type = std::string(absl::StripAsciiWhitespace(
        reply.head.substr(start, reply.head.find("\r\n", start) - start)));
  }
  return reply;
}

inline absl::StatusOr<HttpReply> RawHttp(int port, const std::string& request) {
  return RawHttpFrom("", port, request);
}

// A GET (or another method without a body) with more header lines
// ("Accept: x\r\n"), each ending in CRLF.
inline std::string GetRequest(const std::string& path, const std::string& more_headers = {},
                              const std::string& method = "GET") {
  return absl::StrCat(method, " ", path, " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n",
                      more_headers, "\r\n");
}

// The value of the header `name` (any case) in a reply's head, or empty.
inline std::string HeaderOf(const HttpReply& reply, const std::string& name) {
  const std::string lower = absl::AsciiStrToLower(reply.head);
  const std::string key = absl::StrCat("\r\n", absl::AsciiStrToLower(name), ":");
  const size_t at = lower.find(key);
  if (at == std::string::npos) return std::string();
  const size_t start = at + key.size();
  return std::string(
      absl::StripAsciiWhitespace(reply.head.substr(start, reply.head.find("\r\n", start) - start)));
}

// A POST with Content-Length.
inline std::string PostRequest(const std::string& path, const std::string& content_type,
                               const std::string& body) {
  return absl::StrCat("POST ", path, " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n",
                      "Content-Type: ", content_type, "\r\nContent-Length: ", body.size(),
                      "\r\n\r\n", body);
}

}  // namespace signet::http::testing

#endif  // SIGNET_APPLIANCE_HTTP_HTTP_TESTING_H_
