#include "appliance/pki/http_fetch.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/http.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "common/openssl_error.h"
#include "common/ossl_ptr.h"

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
  // "" rather than nullptr: no proxy from http_proxy and friends, whose
  // presence on an appliance is an accident more often than a decision.
  std::unique_ptr<OSSL_HTTP_REQ_CTX, HttpContextClose> context(OSSL_HTTP_open(
      host.get(), port.get(), "", nullptr, 0, nullptr, nullptr, nullptr, nullptr, 0, timeout));
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
