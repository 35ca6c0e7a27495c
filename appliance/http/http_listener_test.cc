// The HTTP side of RFC 3161 section 3.4 on a real socket: what reaches the
// handler and what is refused with which status, the limits, the ephemeral
// port and Stop().
#include "appliance/http/http_listener.h"

#include <atomic>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "appliance/http/http_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::http {
namespace {

using ::signet::matchers::IsOk;
using ::signet::matchers::StatusIs;
using testing::HttpReply;
using testing::PostRequest;
using testing::RawHttp;

constexpr char kQuery[] = "application/timestamp-query";

class HttpListenerTest : public ::testing::Test {
 protected:
  void Start(HttpListenerOptions options = {}) {
    options.path = "/tsa";
    absl::StatusOr<std::unique_ptr<HttpListener>> listener =
        HttpListener::Start(options, [this](std::string body) {
          std::lock_guard<std::mutex> lock(mutex_);
          bodies_.push_back(body);
          return absl::StrCat("reply to ", body.size(), " bytes");
        });
    ASSERT_THAT(listener, IsOk());
    listener_ = std::move(*listener);
    ASSERT_GT(listener_->port(), 0);
  }

  HttpReply Exchange(const std::string& request) {
    absl::StatusOr<HttpReply> reply = RawHttp(listener_->port(), request);
    EXPECT_THAT(reply, IsOk());
    return reply.value_or(HttpReply{});
  }

  size_t HandlerCalls() {
    std::lock_guard<std::mutex> lock(mutex_);
    return bodies_.size();
  }

  std::unique_ptr<HttpListener> listener_;
  std::mutex mutex_;
  std::vector<std::string> bodies_;
};

TEST_F(HttpListenerTest, APostOfAQueryReachesTheHandler) {
  Start();
  const std::string body("\x30\x03\x02\x01\x01", 5);
  HttpReply reply = Exchange(PostRequest("/tsa", kQuery, body));
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.content_type, "application/timestamp-reply");
  EXPECT_EQ(reply.body, "reply to 5 bytes");
  ASSERT_EQ(HandlerCalls(), 1u);
  EXPECT_EQ(bodies_[0], body);
  // Media types are case-insensitive and may carry parameters.
  reply = Exchange(PostRequest("/tsa", "Application/TimeStamp-Query; charset=binary", body));
  EXPECT_EQ(reply.status, 200);
}

TEST_F(HttpListenerTest, AChunkedBodyIsReassembled) {
  Start();
  HttpReply reply = Exchange(
      absl::StrCat("POST /tsa HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: ", kQuery,
                   "\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"));
  EXPECT_EQ(reply.status, 200);
  ASSERT_EQ(HandlerCalls(), 1u);
  EXPECT_EQ(bodies_[0], "abcdefg");
}

TEST_F(HttpListenerTest, WrongMethodPathOrTypeIsRefused) {
  Start();
  HttpReply reply = Exchange("GET /tsa HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(reply.status, 405);
  EXPECT_THAT(reply.head, ::testing::HasSubstr("Allow: POST"));
  reply = Exchange(absl::StrCat("PUT /tsa HTTP/1.1\r\nHost: x\r\nConnection: close\r\n",
                                "Content-Type: ", kQuery, "\r\nContent-Length: 1\r\n\r\nx"));
  EXPECT_EQ(reply.status, 405);
  EXPECT_EQ(Exchange(PostRequest("/", kQuery, "x")).status, 404);
  EXPECT_EQ(Exchange(PostRequest("/tsa/more", kQuery, "x")).status, 404);
  EXPECT_EQ(Exchange(PostRequest("/tsa", "application/ocsp-request", "x")).status, 415);
  EXPECT_EQ(Exchange(PostRequest("/tsa", "application/timestamp-querying", "x")).status, 415);
  EXPECT_EQ(Exchange(absl::StrCat("POST /tsa HTTP/1.1\r\nHost: x\r\nConnection: close\r\n",
                                  "Content-Length: 1\r\n\r\nx"))
                .status,
            415);
  EXPECT_EQ(HandlerCalls(), 0u);
}

TEST_F(HttpListenerTest, BodiesOverTheLimitAre413) {
  Start({.max_body_bytes = 1024});
  EXPECT_EQ(Exchange(PostRequest("/tsa", kQuery, std::string(1024, 'a'))).status, 200);
  // Declared too large: refused on the headers.
  EXPECT_EQ(Exchange(PostRequest("/tsa", kQuery, std::string(1025, 'a'))).status, 413);
  // A declared length far beyond anything is refused without being sent.
  EXPECT_EQ(
      Exchange(absl::StrCat("POST /tsa HTTP/1.1\r\nHost: x\r\nConnection: close\r\n",
                            "Content-Type: ", kQuery, "\r\nContent-Length: 10000000000\r\n\r\n"))
          .status,
      413);
  // Chunked, found too large while it comes.
  std::string chunked =
      absl::StrCat("POST /tsa HTTP/1.1\r\nHost: x\r\nConnection: close\r\n",
                   "Content-Type: ", kQuery, "\r\nTransfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < 5; ++i) absl::StrAppend(&chunked, "100\r\n", std::string(256, 'b'), "\r\n");
  absl::StrAppend(&chunked, "0\r\n\r\n");
  EXPECT_EQ(Exchange(chunked).status, 413);
  EXPECT_EQ(HandlerCalls(), 1u);
}

TEST_F(HttpListenerTest, HugeHeadersAreRefused) {
  Start({.max_header_bytes = 4096});
  const std::string request = absl::StrCat(
      "POST /tsa HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Padding: ", std::string(8192, 'p'),
      "\r\nContent-Type: ", kQuery, "\r\nContent-Length: 1\r\n\r\nx");
  absl::StatusOr<HttpReply> reply = RawHttp(listener_->port(), request);
  // libmicrohttpd answers 431 (or closes the connection); never the handler.
  if (reply.ok()) {
    EXPECT_EQ(reply->status, 431) << reply->head;
  }
  EXPECT_EQ(HandlerCalls(), 0u);
}

// Connected sockets for the limit and timeout tests.
UniqueFd Connect(int port) {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  timeval timeout = {.tv_sec = 30, .tv_usec = 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) fd.reset();
  return fd;
}

// What the server sends on `fd` until it closes it; "timeout" if it kept the
// connection open for the 30 s receive timeout.
std::string ReadUntilClosed(int fd) {
  std::string received;
  char buffer[1024];
  for (;;) {
    ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n == 0) return received;
    if (n < 0) return "timeout";
    received.append(buffer, static_cast<size_t>(n));
  }
}

// Over the limit, a connection waits in the kernel's backlog (it holds
// nothing of the server's) until one of the limit's connections closes. One
// polling thread accepts in order: the first two take the limit, so the
// third's request, though sent first, is handled only after the first's.
TEST_F(HttpListenerTest, ConnectionsOverTheLimitWait) {
  Start({.max_connections = 2, .threads = 1});
  UniqueFd first = Connect(listener_->port());
  UniqueFd second = Connect(listener_->port());
  UniqueFd third = Connect(listener_->port());
  ASSERT_TRUE(first.valid() && second.valid() && third.valid());
  const std::string third_request = PostRequest("/tsa", kQuery, "third");
  ASSERT_EQ(send(third.get(), third_request.data(), third_request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(third_request.size()));
  const std::string first_request = PostRequest("/tsa", kQuery, "first");
  ASSERT_EQ(send(first.get(), first_request.data(), first_request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(first_request.size()));
  EXPECT_THAT(ReadUntilClosed(first.get()), ::testing::StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(ReadUntilClosed(third.get()), ::testing::StartsWith("HTTP/1.1 200"));
  std::lock_guard<std::mutex> lock(mutex_);
  EXPECT_THAT(bodies_, ::testing::ElementsAre("first", "third"));
}

// A client that connects and sends nothing is disconnected by the server.
TEST_F(HttpListenerTest, AnIdleConnectionIsClosed) {
  Start({.connection_timeout = absl::Seconds(1)});
  UniqueFd idle = Connect(listener_->port());
  ASSERT_TRUE(idle.valid());
  EXPECT_EQ(ReadUntilClosed(idle.get()), "");
  // Half a request, then silence: the same.
  UniqueFd slow = Connect(listener_->port());
  ASSERT_TRUE(slow.valid());
  const std::string partial = "POST /tsa HTTP/1.1\r\nHost: x\r\n";
  send(slow.get(), partial.data(), partial.size(), MSG_NOSIGNAL);
  EXPECT_EQ(ReadUntilClosed(slow.get()), "");
}

TEST_F(HttpListenerTest, StopClosesTheSocket) {
  Start();
  const int port = listener_->port();
  EXPECT_EQ(Exchange(PostRequest("/tsa", kQuery, "x")).status, 200);
  listener_->Stop();
  listener_->Stop();
  EXPECT_THAT(RawHttp(port, PostRequest("/tsa", kQuery, "x")),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(HttpListenerTest, ConcurrentClientsAreAllAnswered) {
  Start({.max_connections = 16, .threads = 2});
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        absl::StatusOr<HttpReply> reply =
            RawHttp(listener_->port(), PostRequest("/tsa", kQuery, "q"));
        if (reply.ok() && reply->status == 200) ++ok;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(ok, 160);
}

TEST(HttpListenerStartTest, BadAddressesAndABusyPortAreErrors) {
  auto handler = [](std::string) { return std::string(); };
  EXPECT_THAT(HttpListener::Start({.address = "localhost"}, handler),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(HttpListener::Start({.max_body_bytes = 0}, handler),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<HttpListener> first, HttpListener::Start({}, handler));
  EXPECT_THAT(HttpListener::Start({.port = first->port()}, handler),
              StatusIs(absl::StatusCode::kUnavailable));
  // IPv6 loopback, where the machine has it.
  absl::StatusOr<std::unique_ptr<HttpListener>> v6 =
      HttpListener::Start({.address = "::1"}, handler);
  if (v6.ok()) {
    EXPECT_GT((*v6)->port(), 0);
  }
}

// The metrics' shape: a GET without a body, answered in another media type;
// a POST there is 405 naming GET.
TEST(HttpListenerGetTest, AGetEndpointAnswersGetsOnly) {
  absl::StatusOr<std::unique_ptr<HttpListener>> listener = HttpListener::Start(
      {.path = "/metrics", .request_media_type = "", .reply_media_type = "text/plain"},
      [](std::string body) { return absl::StrCat("metrics for a body of ", body.size()); });
  ASSERT_THAT(listener, IsOk());
  absl::StatusOr<HttpReply> got =
      RawHttp((*listener)->port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->status, 200);
  EXPECT_THAT(got->head, ::testing::HasSubstr("Content-Type: text/plain"));
  EXPECT_EQ(got->body, "metrics for a body of 0");
  absl::StatusOr<HttpReply> posted =
      RawHttp((*listener)->port(), PostRequest("/metrics", "text/plain", "x"));
  ASSERT_THAT(posted, IsOk());
  EXPECT_EQ(posted->status, 405);
  EXPECT_THAT(posted->head, ::testing::HasSubstr("Allow: GET"));
}

// A prefix endpoint with a request handler: it sees the decoded rest of the
// path, the client's address and the headers, and chooses status, media
// type and headers; HEAD gets the headers only.
class HttpRequestHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<HttpListener>> listener = HttpListener::Start(
        {.path = "/things/", .path_is_prefix = true, .request_media_type = ""},
        [this](const HttpRequest& request) {
          std::lock_guard<std::mutex> lock(mutex_);
          requests_.push_back(request);
          if (request.path_rest == "missing") {
            return HttpResponse{.status = 404, .body = "no such thing\n"};
          }
          return HttpResponse{.status = 203,
                              .content_type = "application/x-thing",
                              .body = absl::StrCat("thing ", request.path_rest),
                              .headers = {{"Retry-After", "7"}, {"Vary", "Accept"}}};
        });
    ASSERT_THAT(listener, IsOk());
    listener_ = std::move(*listener);
  }

  HttpReply Exchange(const std::string& request, const std::string& source = "") {
    absl::StatusOr<HttpReply> reply = testing::RawHttpFrom(source, listener_->port(), request);
    EXPECT_THAT(reply, IsOk());
    return reply.value_or(HttpReply{});
  }

  std::vector<HttpRequest> Requests() {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

  std::unique_ptr<HttpListener> listener_;
  std::mutex mutex_;
  std::vector<HttpRequest> requests_;
};

TEST_F(HttpRequestHandlerTest, TheHandlerSeesTheRequestAndChoosesTheReply) {
  HttpReply reply =
      Exchange(testing::GetRequest("/things/a%40b%2fc?query=1",
                                   "Accept: text/plain\r\nAccept: application/x-thing;q=0.5\r\n"),
               "127.0.0.3");
  EXPECT_EQ(reply.status, 203);
  EXPECT_EQ(reply.content_type, "application/x-thing");
  EXPECT_EQ(reply.body, "thing a@b/c");
  EXPECT_EQ(testing::HeaderOf(reply, "Retry-After"), "7");
  EXPECT_EQ(testing::HeaderOf(reply, "Vary"), "Accept");
  reply = Exchange(testing::GetRequest("/things/missing"));
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(reply.body, "no such thing\n");

  std::vector<HttpRequest> requests = Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].path_rest, "a@b/c");
  EXPECT_EQ(requests[0].client_address, "127.0.0.3");
  EXPECT_EQ(requests[0].Header("accept"), "text/plain, application/x-thing;q=0.5");
  EXPECT_EQ(requests[0].Header("host"), "127.0.0.1");
  EXPECT_EQ(requests[0].Header("x-absent"), "");
  EXPECT_EQ(requests[1].client_address, "127.0.0.1");
}

TEST_F(HttpRequestHandlerTest, HeadIsAGetWithoutTheBody) {
  HttpReply reply = Exchange(testing::GetRequest("/things/x", "", "HEAD"));
  EXPECT_EQ(reply.status, 203);
  EXPECT_EQ(reply.content_type, "application/x-thing");
  EXPECT_EQ(testing::HeaderOf(reply, "Content-Length"), "7");
  EXPECT_EQ(reply.body, "");
  ASSERT_EQ(Requests().size(), 1u);
  EXPECT_EQ(Requests()[0].method, "HEAD");
}

TEST_F(HttpRequestHandlerTest, OtherMethodsPathsAndMalformedEscapesAreRefused) {
  HttpReply reply = Exchange(PostRequest("/things/x", "text/plain", "x"));
  EXPECT_EQ(reply.status, 405);
  EXPECT_EQ(testing::HeaderOf(reply, "Allow"), "GET, HEAD");
  EXPECT_EQ(Exchange(testing::GetRequest("/things/x", "", "DELETE")).status, 405);
  EXPECT_EQ(Exchange(testing::GetRequest("/things")).status, 404);
  EXPECT_EQ(Exchange(testing::GetRequest("/other/x")).status, 404);
  // %00 would end the path as a C string; control bytes and broken escapes
  // never reach the handler.
  for (const char* path : {"/things/a%00b", "/things/a%0d%0aX: y", "/things/%7f", "/things/%",
                           "/things/%4", "/things/%zz", "/things%2F%00"}) {
    reply = Exchange(testing::GetRequest(path));
    EXPECT_EQ(reply.status, 400) << path;
  }
  // An escaped prefix is the prefix.
  EXPECT_EQ(Exchange(testing::GetRequest("/%74hings/y")).status, 203);
  ASSERT_EQ(Requests().size(), 1u);
  EXPECT_EQ(Requests()[0].path_rest, "y");
}

TEST(PercentDecodePathTest, DecodesEscapesAndRefusesControlBytes) {
  EXPECT_EQ(PercentDecodePath("/a%40b%2Ec%2e"), "/a@b.c.");
  EXPECT_EQ(PercentDecodePath("a+b%20c"), "a+b c");
  EXPECT_EQ(PercentDecodePath("%C3%A9"), "\xc3\xa9");
  EXPECT_EQ(PercentDecodePath(""), "");
  EXPECT_EQ(PercentDecodePath("%"), std::nullopt);
  EXPECT_EQ(PercentDecodePath("a%4"), std::nullopt);
  EXPECT_EQ(PercentDecodePath("%g0"), std::nullopt);
  EXPECT_EQ(PercentDecodePath("%00"), std::nullopt);
  EXPECT_EQ(PercentDecodePath("%1f"), std::nullopt);
  EXPECT_EQ(PercentDecodePath("%7F"), std::nullopt);
  EXPECT_EQ(PercentDecodePath(absl::string_view("a\tb")), std::nullopt);
}

TEST(IsMediaTypeTest, MatchesTheMediaTypeOnly) {
  EXPECT_TRUE(IsMediaType("application/timestamp-query", kQuery));
  EXPECT_TRUE(IsMediaType(" APPLICATION/TIMESTAMP-QUERY ;x=y", kQuery));
  EXPECT_FALSE(IsMediaType(nullptr, kQuery));
  EXPECT_FALSE(IsMediaType("", kQuery));
  EXPECT_FALSE(IsMediaType("application/timestamp-reply", kQuery));
  EXPECT_FALSE(IsMediaType("application/timestamp-query-x", kQuery));
}

}  // namespace
}  // namespace signet::http
