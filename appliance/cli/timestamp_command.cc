// signet timestamp: an RFC 3161 time-stamp over a file, from signetd's
// Timestamps service or, with --url, from any TSA over HTTP.
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/http.h>
#include <stdio.h>

#include <algorithm>
#include <atomic>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "appliance/cli/cli_status.h"
#include "appliance/cli/commands.h"
#include "appliance/cli/connection.h"
#include "appliance/cli/files.h"
#include "appliance/cli/timestamp_query.h"
#include "common/openssl_error.h"
#include "common/ossl_ptr.h"
#include "common/status_macros.h"
#include "signet/v1/timestamp.grpc.pb.h"

namespace signet::cli {
namespace {

// A TimeStampResp is a few KiB; this bounds a confused server.
constexpr size_t kMaxReplyBytes = 1 << 20;

// The file's digest, read in chunks: it may be large, and only the hash
// leaves the machine.
absl::StatusOr<std::string> DigestOf(const std::string& path, v1::DigestAlgorithm algorithm) {
  ASSIGN_OR_RETURN(InputFile input, InputFile::Open(path));
  EvpMdCtxPtr context(EVP_MD_CTX_new());
  if (!context ||
      EVP_DigestInit_ex(context.get(), EVP_get_digestbyname(TimestampDigestName(algorithm)),
                        nullptr) != 1) {
    return OpenSslError("cannot hash the file");
  }
  const std::atomic<bool> never(false);
  std::string buffer(1 << 16, '\0');
  while (true) {
    ASSIGN_OR_RETURN(size_t read, input.Read(buffer.data(), buffer.size(), never));
    if (read == 0) break;
    if (EVP_DigestUpdate(context.get(), buffer.data(), read) != 1) {
      return OpenSslError("cannot hash the file");
    }
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(context.get(), digest, &length) != 1) {
    return OpenSslError("cannot hash the file");
  }
  return std::string(reinterpret_cast<char*>(digest), length);
}

struct OpenSslFree {
  void operator()(char* text) const { OPENSSL_free(text); }
};

int WholeSeconds(absl::Duration timeout) {
  const int64_t seconds = absl::ToInt64Seconds(absl::Ceil(timeout, absl::Seconds(1)));
  return static_cast<int>(std::clamp<int64_t>(seconds, 1, 3600));
}

// RFC 3161 section 3.4: POST application/timestamp-query, the reply
// application/timestamp-reply. Plain http: only, as signetd's own TSA
// client: the reply is signed, and TLS would add nothing to check it by.
absl::StatusOr<std::string> PostQuery(const std::string& url, const std::string& query,
                                      absl::Duration timeout) {
  int use_tls = 0;
  char* host_raw = nullptr;
  char* port_raw = nullptr;
  char* path_raw = nullptr;
  if (!absl::StartsWith(url, "http://") ||
      OSSL_HTTP_parse_url(url.c_str(), &use_tls, nullptr, &host_raw, &port_raw, nullptr, &path_raw,
                          nullptr, nullptr) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat("--url '", url, "' is not an http: URL"));
  }
  std::unique_ptr<char, OpenSslFree> host(host_raw);
  std::unique_ptr<char, OpenSslFree> port(port_raw);
  std::unique_ptr<char, OpenSslFree> path(path_raw);
  BioPtr body = ReadBio(query);
  // "" rather than nullptr for the proxy: the user's http_proxy is for the
  // web, and a TSA on the local network is rarely behind it.
  BioPtr reply(OSSL_HTTP_transfer(nullptr, host.get(), port.get(), path.get(), /*use_ssl=*/0, "",
                                  nullptr, nullptr, nullptr, nullptr, nullptr, 0, nullptr,
                                  "application/timestamp-query", body.get(),
                                  "application/timestamp-reply", /*expect_asn1=*/1, kMaxReplyBytes,
                                  WholeSeconds(timeout), /*keep_alive=*/0));
  if (!reply) return OpenSslError(absl::StatusCode::kUnavailable, absl::StrCat("POST to ", url));
  std::string data;
  char chunk[4096];
  int read = 0;
  while ((read = BIO_read(reply.get(), chunk, sizeof chunk)) > 0) data.append(chunk, read);
  return data;
}

absl::StatusOr<std::string> AskSignetd(const Invocation& invocation, const std::string& query) {
  ASSIGN_OR_RETURN(Connection connection, Connection::Open(invocation.connection));
  v1::TimestampRequest request;
  request.set_query(query);
  v1::TimestampResponse response;
  grpc::ClientContext context;
  connection.Prepare(context);
  grpc::Status status =
      v1::Timestamps::NewStub(connection.channel())->Timestamp(&context, request, &response);
  if (!status.ok()) return StatusFromGrpc(status);
  return std::move(*response.mutable_reply());
}

}  // namespace

absl::Status RunTimestamp(const Invocation& invocation) {
  ASSIGN_OR_RETURN(std::string digest, DigestOf(invocation.input, invocation.sign.digest()));
  ASSIGN_OR_RETURN(TimestampQuery query,
                   BuildTimestampQuery(invocation.sign.digest(), digest, invocation.policy));
  // Created before asking, so that an OUT that cannot be written costs no
  // serial at the TSA.
  ASSIGN_OR_RETURN(OutputFile output, OutputFile::Create(invocation.output));
  absl::StatusOr<std::string> reply =
      invocation.tsa_url.empty()
          ? AskSignetd(invocation, query.der)
          : PostQuery(invocation.tsa_url, query.der, invocation.connection.timeout);
  if (!reply.ok()) return reply.status();
  ASSIGN_OR_RETURN(TimestampReplySummary summary, SummarizeTimestampReply(query, *reply));
  if (!summary.granted) {
    return absl::FailedPreconditionError(
        absl::StrCat("the TSA refused: ", summary.status,
                     summary.failure.empty() ? "" : absl::StrCat(" (", summary.failure, ")")));
  }
  RETURN_IF_ERROR(output.Write(*reply));
  RETURN_IF_ERROR(output.Commit());
  const std::string text = absl::StrCat(
      "time-stamp ", summary.status, " for ", invocation.input == "-" ? "stdin" : invocation.input,
      ":\n  time:   ", summary.time, "\n  serial: ", summary.serial_hex,
      "\n  tsa:    ", summary.tsa.empty() ? "-" : summary.tsa, "\n  policy: ", summary.policy,
      "\n");
  fputs(text.c_str(), stderr);
  fflush(stderr);
  return absl::OkStatus();
}

}  // namespace signet::cli
