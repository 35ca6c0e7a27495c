#include "appliance/pki/http_fetch.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/http.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "common/openssl_error.h"
#include "common/ossl_ptr.h"
#include "common/status_macros.h"

namespace signet::pki {
namespace {

struct OpenSslStringFree {
  void operator()(char* text) const { OPENSSL_free(text); }
};
using OpenSslString = std::unique_ptr<char, OpenSslStringFree>;

struct HttpContextClose {
  void operator()(OSSL_HTTP_REQ_CTX* context) const { OSSL_HTTP_close(context, 0); }
};

int TimeoutSeconds(absl::Duration timeout) {
  const int64_t seconds = absl::ToInt64Seconds(absl::Ceil(timeout, absl::Seconds(1)));
  return seconds < 1 ? 1 : static_cast<int>(seconds > 3600 ? 3600 : seconds);
}

// A connection to host:port by `deadline`. OpenSSL's own connect (inside
// OSSL_HTTP_open) takes a refused connection for a passing failure and
// tries again until its timeout, so a server that is down would cost every
// caller the whole timeout before the next source is tried; here a refused
// connection fails at once, and only a connection in progress is waited for.
absl::StatusOr<BioPtr> Connect(const char* host, const char* port, absl::Time deadline,
                               const std::string& url) {
  BioPtr bio(BIO_new_connect(host));
  if (!bio || BIO_set_conn_port(bio.get(), port) <= 0 || BIO_set_nbio(bio.get(), 1) <= 0) {
    return OpenSslError(absl::StatusCode::kUnavailable, absl::StrCat("cannot connect to ", url));
  }
  const time_t give_up =
      absl::ToTimeT(absl::Ceil(deadline - absl::UnixEpoch(), absl::Seconds(1)) + absl::UnixEpoch());
  while (true) {
    if (BIO_do_connect(bio.get()) > 0) return bio;
    if (!BIO_should_retry(bio.get())) {
      return OpenSslError(absl::StatusCode::kUnavailable, absl::StrCat("cannot connect to ", url));
    }
    ERR_clear_error();
    const int ready = BIO_wait(bio.get(), give_up, /*nap_milliseconds=*/100);
    if (ready == 0) {
      ERR_clear_error();
      return absl::UnavailableError(absl::StrCat("cannot connect to ", url, ": timeout"));
    }
    if (ready < 0) {
      return OpenSslError(absl::StatusCode::kUnavailable, absl::StrCat("cannot connect to ", url));
    }
  }
}

}  // namespace

absl::StatusOr<std::string> HttpTransfer(const HttpRequest& request) {
  int use_tls = 0;
  char* host_raw = nullptr;
  char* port_raw = nullptr;
  char* path_raw = nullptr;
  if (OSSL_HTTP_parse_url(request.url.c_str(), &use_tls, nullptr, &host_raw, &port_raw, nullptr,
                          &path_raw, nullptr, nullptr) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat("'", request.url, "' is not a URL"));
  }
  OpenSslString host(host_raw);
  OpenSslString port(port_raw);
  OpenSslString path(path_raw);
  if (use_tls != 0 || request.url.rfind("http://", 0) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", request.url, "' is not an http: URL; only http: is fetched"));
  }

  const int timeout = TimeoutSeconds(request.timeout);
  // Connected here, so no proxy from http_proxy and friends either, whose
  // presence on an appliance is an accident more often than a decision.
  // Declared before the context, which uses it and must go first.
  ASSIGN_OR_RETURN(BioPtr connection, Connect(host.get(), port.get(),
                                              absl::Now() + absl::Seconds(timeout), request.url));
  std::unique_ptr<OSSL_HTTP_REQ_CTX, HttpContextClose> context(
      OSSL_HTTP_open(host.get(), port.get(), nullptr, nullptr, 0, connection.get(), nullptr,
                     nullptr, nullptr, 0, timeout));
  if (!context) {
    return OpenSslError(absl::StatusCode::kUnavailable,
                        absl::StrCat("cannot connect to ", request.url));
  }
  BioPtr body;
  if (!request.body.empty()) body = ReadBio(request.body);
  if (OSSL_HTTP_set1_request(
          context.get(), path.get(), nullptr,
          request.body.empty() ? nullptr : request.content_type.c_str(), body.get(),
          request.expected_content_type.empty() ? nullptr : request.expected_content_type.c_str(),
          /*expect_asn1=*/1, request.max_response_bytes, timeout,
          /*keep_alive=*/0) != 1) {
    return OpenSslError(absl::StatusCode::kUnavailable,
                        absl::StrCat("cannot send a request to ", request.url));
  }
  char* redirection_raw = nullptr;
  BioPtr response(OSSL_HTTP_exchange(context.get(), &redirection_raw));
  OpenSslString redirection(redirection_raw);
  if (!response) {
    if (redirection) {
      ERR_clear_error();
      return absl::UnavailableError(absl::StrCat(request.url, " redirects to ", redirection.get(),
                                                 ", which is not followed"));
    }
    return OpenSslError(absl::StatusCode::kUnavailable,
                        absl::StrCat("no usable answer from ", request.url));
  }
  return BioContents(response.get());
}

}  // namespace signet::pki
