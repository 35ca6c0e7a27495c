// One streamed mail call as docs/architecture.md, decision D17, describes it: the
// request header, then the mail in chunks of at most 64 KiB read from the
// input as they are sent; the response header, then the result written to
// the output chunk by chunk as it arrives. No step holds the whole mail.
#ifndef SIGNET_APPLIANCE_CLI_MAIL_STREAM_H_
#define SIGNET_APPLIANCE_CLI_MAIL_STREAM_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "appliance/cli/files.h"
#include "appliance/cli/progress.h"
#include "signet/v1/mail.pb.h"

namespace signet::cli {

inline constexpr size_t kChunkBytes = 64 * 1024;

// The stream's operations, apart from the message types, so that the
// transfer can be tested without a server. write_chunk and writes_done are
// called from a thread of their own, concurrently with read (gRPC allows
// one writer and one reader at once); cancel from either.
struct MailStreamOps {
  // The header was already written when these are used.
  std::function<bool(absl::string_view chunk)> write_chunk;
  std::function<void()> writes_done;
  std::function<bool(v1::MailResponse* response)> read;
  std::function<grpc::Status()> finish;
  std::function<void()> cancel;
};

// Sends input, writes the response's chunks to output and returns its
// header. Errors: the call's status (StatusFromGrpc), or the input's or
// output's, which cancel the call; a response that is cut short or comes
// without its header. output is not committed here.
absl::StatusOr<v1::MailResponse::Header> TransferMail(const MailStreamOps& ops, InputFile& input,
                                                      OutputFile& output, Progress& progress);

// The call itself: stub method, header (its size is filled in when the
// input's is known), input, output.
template <typename Request, typename Stub>
absl::StatusOr<v1::MailResponse::Header> StreamMail(
    std::unique_ptr<grpc::ClientReaderWriter<Request, v1::MailResponse>> (Stub::*method)(
        grpc::ClientContext*),
    Stub& stub, grpc::ClientContext& context, typename Request::Header header, InputFile& input,
    OutputFile& output, Progress& progress) {
  if (input.size().has_value()) header.set_size(*input.size());
  std::unique_ptr<grpc::ClientReaderWriter<Request, v1::MailResponse>> stream =
      (stub.*method)(&context);
  Request first;
  *first.mutable_header() = std::move(header);
  // If the header cannot be sent the call has ended; Finish says why.
  const bool header_sent = stream->Write(first);
  Request chunk_request;
  MailStreamOps ops{
      .write_chunk =
          [&](absl::string_view chunk) {
            if (!header_sent) return false;
            chunk_request.set_chunk(chunk.data(), chunk.size());
            return stream->Write(chunk_request);
          },
      .writes_done = [&] { stream->WritesDone(); },
      .read = [&](v1::MailResponse* response) { return stream->Read(response); },
      .finish = [&] { return stream->Finish(); },
      .cancel = [&] { context.TryCancel(); },
  };
  return TransferMail(ops, input, output, progress);
}

}  // namespace signet::cli

#endif  // SIGNET_APPLIANCE_CLI_MAIL_STREAM_H_
