#include "appliance/cli/mail_stream.h"

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "appliance/cli/cli_status.h"

namespace signet::cli {

absl::StatusOr<v1::MailResponse::Header> TransferMail(const MailStreamOps& ops, InputFile& input,
                                                      OutputFile& output, Progress& progress) {
  // Set when reading ended, so that a sender waiting on a pipe gives up: the
  // daemon may refuse a call at its header, long before the input ends.
  std::atomic<bool> stop{false};
  absl::Status input_error;
  std::thread sender([&] {
    std::string buffer(kChunkBytes, '\0');
    uint64_t sent = 0;
    for (;;) {
      absl::StatusOr<size_t> n = input.Read(buffer.data(), buffer.size(), stop);
      if (!n.ok()) {
        if (!stop.load()) {
          input_error = n.status();
          ops.cancel();
        }
        return;
      }
      if (*n == 0) break;
      // false: the call has ended (the daemon refused it); Finish says why.
      if (!ops.write_chunk(absl::string_view(buffer.data(), *n))) return;
      sent += *n;
      progress.Sent(sent, input.size());
    }
    ops.writes_done();
  });

  std::optional<v1::MailResponse::Header> header;
  uint64_t received = 0;
  absl::Status local_error;
  v1::MailResponse response;
  while (ops.read(&response)) {
    if (response.has_header()) {
      if (header.has_value()) {
        local_error = absl::InternalError("signetd sent a second response header");
        ops.cancel();
        break;
      }
      header = response.header();
      continue;
    }
    if (!header.has_value()) {
      local_error = absl::InternalError("signetd sent output before the response header");
      ops.cancel();
      break;
    }
    if (absl::Status written = output.Write(response.chunk()); !written.ok()) {
      local_error = written;
      ops.cancel();
      break;
    }
    received += response.chunk().size();
    progress.Received(received, header->size());
  }
  stop.store(true);
  sender.join();
  const grpc::Status status = ops.finish();
  progress.Finish();

  // What this side did wrong comes first: the call's CANCELLED follows from it.
  if (!input_error.ok()) return input_error;
  if (!local_error.ok()) return local_error;
  if (!status.ok()) return StatusFromGrpc(status);
  if (!header.has_value()) return absl::InternalError("signetd sent no response header");
  if (received != header->size()) {
    return absl::DataLossError(absl::StrCat("the result was cut short: ", received, " of ",
                                            header->size(), " bytes arrived"));
  }
  return *header;
}

}  // namespace signet::cli
