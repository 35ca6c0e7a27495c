// One streamed mail call (see mail_service.h): a bidi reactor that reads a
// header and chunks, admits the call at its header, runs the work on a
// queue once the mail is whole, and writes the result back in chunks. Each
// call writes its line to the log (call_log.h) as it finishes.
//
// Memory: the CMS layer works on whole messages, so a call holds its whole
// mail and then its whole result, but no more copies of them than that: the
// mail is collected into one buffer (reserved up front when the header
// gives the size), handed to the work by move, and the result is written
// out chunk by chunk from where it lies.
#ifndef SIGNET_APPLIANCE_SERVER_MAIL_CALL_H_
#define SIGNET_APPLIANCE_SERVER_MAIL_CALL_H_

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "appliance/server/call_deadline.h"
#include "appliance/server/call_log.h"
#include "appliance/server/grpc_status.h"
#include "appliance/server/work_queue.h"
#include "signet/v1/mail.pb.h"

namespace signet::server {

inline constexpr size_t kChunkBytes = 64 * 1024;

struct MailOutput {
  v1::MailResponse::Header header;
  std::string body;
};

// What a call does, decided when its header arrives.
// Takes a call's result; called once.
using MailDone = std::function<void(absl::StatusOr<MailOutput>)>;

struct MailPlan {
  // Where the work runs.
  WorkQueue* queue = nullptr;
  // The token involved, for error details; empty for none.
  std::string token;
  // The work, given the whole mail (by move: the call keeps no copy). It
  // calls `done` on the worker, or later from another thread (an audited
  // operation, once its record is durable: AuditedAsync).
  std::function<void(std::string mail, MailDone done)> run;
};

// A plan's work that answers on the worker.
inline std::function<void(std::string, MailDone)> AnswerOnWorker(
    std::function<absl::StatusOr<MailOutput>(std::string mail)> work) {
  return [work = std::move(work)](std::string mail, MailDone done) { done(work(std::move(mail))); };
}

template <typename Request>
class MailCall final : public grpc::ServerBidiReactor<Request, v1::MailResponse> {
 public:
  using Header = typename Request::Header;
  // Admits the call (identity, authorization, rate, key) from its header,
  // and names the caller and the key in the call's log line as it learns
  // them (a refused call is logged with what was known).
  using Admit = std::function<absl::StatusOr<MailPlan>(const Header&, CallLog&)>;

  // `method`: the RPC's name, for the log.
  MailCall(grpc::CallbackServerContext* context, absl::string_view method, size_t max_bytes,
           Admit admit)
      : context_(context), max_bytes_(max_bytes), admit_(std::move(admit)), log_(method) {
    this->StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The client finished sending, or went away: a mail shorter than its
      // header announced is a cut-off upload, and is not worked on.
      if (!plan_.has_value()) return Fail(absl::InvalidArgumentError("no header was sent"));
      if (declared_size_ != 0 && mail_.size() != declared_size_) {
        return Fail(absl::InvalidArgumentError(absl::StrCat("the mail ended after ", mail_.size(),
                                                            " of the ", declared_size_,
                                                            " bytes its header announced")));
      }
      return Run();
    }
    if (!plan_.has_value()) {
      if (!request_.has_header()) {
        return Fail(absl::InvalidArgumentError("the first message must be the header"));
      }
      if (request_.header().size() > max_bytes_) return TooLarge(request_.header().size());
      absl::StatusOr<MailPlan> plan = admit_(request_.header(), log_);
      if (!plan.ok()) return Fail(plan.status());
      plan_ = std::move(*plan);
      // One buffer for the whole mail, without the copies of growing it
      // chunk by chunk. The size is the client's word, but within the
      // limit, and pages it does not fill are never touched.
      mail_.reserve(request_.header().size());
      declared_size_ = request_.header().size();
    } else {
      if (!request_.has_chunk() || request_.chunk().size() > kChunkBytes) {
        return Fail(absl::InvalidArgumentError("after the header, only chunks of up to 64 KiB"));
      }
      if (mail_.size() + request_.chunk().size() > max_bytes_) {
        return TooLarge(mail_.size() + request_.chunk().size());
      }
      mail_.append(request_.chunk());
      log_.add_input_bytes(request_.chunk().size());
    }
    this->StartRead(&request_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return End(grpc::Status(grpc::StatusCode::CANCELLED, "the client left"));
    WriteNext();
  }

  // A client that cancels (or whose deadline passes) before the work
  // starts gets no token operation done for it.
  void OnCancel() override { cancelled_.store(true, std::memory_order_release); }

  void OnDone() override { delete this; }

 private:
  void Run() {
    const absl::Time deadline = DeadlineOf(*context_);
    MailPlan& plan = *plan_;
    absl::Status submitted = plan.queue->Submit(deadline, [this](absl::Status start) {
      if (!start.ok()) return Fail(start);
      if (cancelled_.load(std::memory_order_acquire)) {
        return Fail(absl::CancelledError("the call was cancelled before its work started"));
      }
      plan_->run(std::move(mail_), [this](absl::StatusOr<MailOutput> output) {
        if (!output.ok()) return Fail(output.status());
        output_ = std::move(*output);
        output_.header.set_size(output_.body.size());
        *response_.mutable_header() = output_.header;
        if (output_.body.empty()) return WriteLast();
        // Not buffered (set_buffer_hint): gRPC 1.51 may then hold back
        // this write's completion until a later write, which never comes.
        this->StartWrite(&response_);
      });
    });
    if (!submitted.ok()) Fail(submitted);
  }

  void WriteNext() {
    const size_t length = std::min(kChunkBytes, output_.body.size() - offset_);
    // Straight from the result into the one response buffer.
    response_.mutable_chunk()->assign(output_.body, offset_, length);
    offset_ += length;
    if (offset_ < output_.body.size()) return this->StartWrite(&response_);
    WriteLast();
  }

  // The last message goes out with the status, so that a small mail's
  // answer (header, one chunk, status) is two writes to the socket, not
  // three. As for a unary call, the line says OK even if the client leaves
  // while this last write is under way: the work was done and answered.
  void WriteLast() {
    this->StartWriteAndFinish(&response_, grpc::WriteOptions(),
                              log_.Finish(grpc::Status::OK, output_.body.size()));
  }

  void TooLarge(size_t size) {
    Fail(absl::InvalidArgumentError(absl::StrCat(
        "the message is ", size, " bytes or more, over the limit of ", max_bytes_, " bytes")));
  }

  void Fail(const absl::Status& status) {
    End(ToGrpcStatus(status, plan_.has_value() ? plan_->token : ""));
  }

  // Every way a call ends: its log line, then its status to the client.
  // Output bytes: what was written of the result.
  void End(const grpc::Status& status) { this->Finish(log_.Finish(status, offset_)); }

  grpc::CallbackServerContext* context_;
  const size_t max_bytes_;
  Admit admit_;
  CallLog log_;
  Request request_;
  std::optional<MailPlan> plan_;
  uint64_t declared_size_ = 0;
  std::atomic<bool> cancelled_{false};
  std::string mail_;
  MailOutput output_;
  v1::MailResponse response_;
  size_t offset_ = 0;
};

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_MAIL_CALL_H_
