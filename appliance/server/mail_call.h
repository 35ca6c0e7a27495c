// One streamed mail call (see mail_service.h): a bidi reactor that reads a
// header and chunks, admits the call at its header, runs the work on a
// queue once the mail is whole, and writes the result back in chunks. Each
// call writes its line to the log (call_log.h) as it finishes.
//
// Memory: the CMS layer works on whole messages, so a call holds its whole
// mail and then its whole result, but no more copies of them than that: the
// mail is collected (mail_buffer.h) with the daemon's byte budget
// (byte_budget.h) drawn as the chunks arrive, never from the size the header
// announces; written into one buffer (announced) or joined once complete
// (not), it is handed to the work by move. The result is pieces
// (cms/mail_pieces.h) written out chunk by chunk from where they lie; for
// SignMail (multipart/signed) and VerifyMail they are mostly a span of the
// mail itself, for EncryptMail and SignAndEncryptMail the base64 of the
// ciphertext written over it, made as it is written out, and DecryptMail's
// is the mail's own buffer decrypted in place; the result then keeps the
// mail, so such a call holds the mail once and a few KiB beside it, never
// the mail and a copy. From the answer on, the budget lease is what the
// result holds (the mail included when the result refers to it). A call
// whose client stops sending is ended by the idle watch
// (idle_call_watch.h).
//
// Every way a call can go ends with Finish, exactly once: an exception
// (std::bad_alloc) inside a callback or the work becomes the call's status
// instead of escaping into gRPC, which would swallow it and leave the call,
// and the daemon's shutdown, waiting forever.
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
#include "appliance/cms/mail_pieces.h"
#include "appliance/server/byte_budget.h"
#include "appliance/server/call_deadline.h"
#include "appliance/server/call_log.h"
#include "appliance/server/exception_status.h"
#include "appliance/server/grpc_status.h"
#include "appliance/server/idle_call_watch.h"
#include "appliance/server/mail_buffer.h"
#include "appliance/server/work_queue.h"
#include "signet/v1/mail.pb.h"

namespace signet::server {

inline constexpr size_t kChunkBytes = 64 * 1024;

// What bounds every mail call.
struct MailCallLimits {
  // The largest mail.
  size_t max_bytes = 0;
  // What calls in flight may hold, and the watch that ends idle uploads.
  ByteBudget* budget = nullptr;
  IdleCallWatch* idle_watch = nullptr;
};

struct MailOutput {
  v1::MailResponse::Header header;
  // The result; its pieces may be spans of the mail the work was given
  // (SignMail, VerifyMail, EncryptMail, SignAndEncryptMail, DecryptMail),
  // which it then holds.
  cms::MailPieces body;
};

// What a call does, decided when its header arrives.
// Takes a call's result; called once.
using MailDone = std::function<void(absl::StatusOr<MailOutput>)>;

struct MailPlan {
  // Who called: the call's bytes are drawn from this caller's budget.
  std::string caller;
  // Where the work runs.
  WorkQueue* queue = nullptr;
  // The token involved, for error details; empty for none.
  std::string token;
  // The work, given the whole mail (by move: the call keeps no copy). It
  // calls `done` on the worker, or later from another thread (an audited
  // operation, once its record is durable: AuditedAsync).
  std::function<void(std::string mail, MailDone done)> run;
  // Work that needs no token and may wait on the network (a recipient's
  // revocation), run first on `prepare_queue` once the mail is in: an error
  // ends the call there, and the token's queue never holds a call for it.
  WorkQueue* prepare_queue = nullptr;
  std::function<absl::Status()> prepare;
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
  MailCall(grpc::CallbackServerContext* context, absl::string_view method,
           const MailCallLimits& limits, Admit admit)
      : context_(context), limits_(limits), admit_(std::move(admit)), log_(method) {
    progress_ = limits_.idle_watch->Watch([this] { Expire(); });
    this->StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    Guarded([&] { Read(ok); });
  }

  void OnWriteDone(bool ok) override {
    Guarded([&] {
      if (!ok) return End(grpc::Status(grpc::StatusCode::CANCELLED, "the client left"));
      WriteNext();
    });
  }

  // A client that cancels (or whose deadline passes) before the work
  // starts gets no token operation done for it.
  void OnCancel() override { cancelled_.store(true, std::memory_order_release); }

  void OnDone() override { delete this; }

 private:
  void Read(bool ok) {
    // Ended by the idle watch while this read was pending. Otherwise not
    // idle while this runs, nor while its work does (the call's deadline
    // governs then).
    if (!progress_->Pause()) return;
    if (!ok) {
      if (context_->IsCancelled()) {
        return Fail(absl::CancelledError(
            "the call was cancelled while uploading (the client left, its deadline passed, or "
            "signetd is shutting down)"));
      }
      // The client finished sending: a mail shorter than its header
      // announced is a cut-off upload, and is not worked on.
      if (!plan_.has_value()) return Fail(absl::InvalidArgumentError("no header was sent"));
      if (declared_size_ != 0 && mail_->size() != declared_size_) {
        return Fail(absl::InvalidArgumentError(absl::StrCat("the mail ended after ", mail_->size(),
                                                            " of the ", declared_size_,
                                                            " bytes its header announced")));
      }
      return Run();
    }
    if (!plan_.has_value()) {
      if (!request_.has_header()) {
        return Fail(absl::InvalidArgumentError("the first message must be the header"));
      }
      if (request_.header().size() > limits_.max_bytes) return TooLarge(request_.header().size());
      absl::StatusOr<MailPlan> plan = admit_(request_.header(), log_);
      if (!plan.ok()) return Fail(plan.status());
      plan_ = std::move(*plan);
      lease_ = limits_.budget->Open(plan_->caller);
      declared_size_ = request_.header().size();
      mail_.emplace(lease_, declared_size_);
    } else {
      if (!request_.has_chunk() || request_.chunk().size() > kChunkBytes) {
        return Fail(absl::InvalidArgumentError("after the header, only chunks of up to 64 KiB"));
      }
      const size_t size = mail_->size() + request_.chunk().size();
      if (size > limits_.max_bytes) return TooLarge(size);
      if (absl::Status taken = mail_->Append(request_.chunk()); !taken.ok()) return Fail(taken);
      log_.add_input_bytes(request_.chunk().size());
    }
    progress_->Resume();
    this->StartRead(&request_);
  }

  void Run() {
    const absl::Time deadline = DeadlineOf(*context_);
    MailPlan& plan = *plan_;
    if (plan.prepare && plan.prepare_queue != nullptr) {
      absl::Status submitted = plan.prepare_queue->Submit(deadline, [this](absl::Status start) {
        Guarded([&] {
          if (!start.ok()) return Fail(start);
          if (cancelled_.load(std::memory_order_acquire)) {
            return Fail(absl::CancelledError("the call was cancelled before its work started"));
          }
          if (absl::Status prepared = plan_->prepare(); !prepared.ok()) return Fail(prepared);
          RunMain(DeadlineOf(*context_));
        });
      });
      if (!submitted.ok()) Fail(submitted);
      return;
    }
    RunMain(deadline);
  }

  void RunMain(absl::Time deadline) {
    MailPlan& plan = *plan_;
    absl::Status submitted = plan.queue->Submit(deadline, [this](absl::Status start) {
      Guarded([&] {
        if (!start.ok()) return Fail(start);
        if (cancelled_.load(std::memory_order_acquire)) {
          return Fail(absl::CancelledError("the call was cancelled before its work started"));
        }
        plan_->run(mail_->Take(), [this](absl::StatusOr<MailOutput> output) {
          Guarded([&] { Answer(std::move(output)); });
        });
      });
    });
    if (!submitted.ok()) Fail(submitted);
  }

  void Answer(absl::StatusOr<MailOutput> output) {
    if (!output.ok()) return Fail(output.status());
    output_ = std::move(*output);
    // The mail went with the work; the result, and the mail if the result
    // refers to it, is what the call holds now.
    lease_.Resize(output_.body.held_bytes());
    output_.header.set_size(output_.body.size());
    *response_.mutable_header() = output_.header;
    if (output_.body.empty()) return WriteLast();
    // Not buffered (set_buffer_hint): gRPC 1.51 may then hold back this
    // write's completion until a later write, which never comes.
    this->StartWrite(&response_);
  }

  void WriteNext() {
    const size_t length = std::min(kChunkBytes, output_.body.size() - offset_);
    // Straight from the result's pieces into the one response buffer.
    output_.body.CopyTo(offset_, length, response_.mutable_chunk());
    offset_ += length;
    if (offset_ < output_.body.size()) return this->StartWrite(&response_);
    WriteLast();
  }

  // The last message goes out with the status, so that a small mail's
  // answer (header, one chunk, status) is two writes to the socket, not
  // three. As for a unary call, the line says OK even if the client leaves
  // while this last write is under way: the work was done and answered.
  void WriteLast() {
    if (!progress_->ClaimEnd()) return;
    this->StartWriteAndFinish(&response_, grpc::WriteOptions(),
                              log_.Finish(grpc::Status::OK, output_.body.size()));
  }

  void TooLarge(size_t size) {
    Fail(absl::InvalidArgumentError(absl::StrCat("the message is ", size,
                                                 " bytes or more, over the limit of ",
                                                 limits_.max_bytes, " bytes")));
  }

  // On the idle watch's thread, which claimed the call's end: no callback
  // of this call runs past its Pause() from here on.
  void Expire() noexcept {
    Release();
    absl::Status status = ResultCatching<absl::Status>([&] {
      return absl::DeadlineExceededError(absl::StrCat(
          "nothing was received for ", absl::FormatDuration(limits_.idle_watch->timeout()),
          " while the mail was uploading (limits.upload_idle_timeout_seconds)"));
    });
    FinishClaimed(status);
  }

  // A failed call gives its bytes back as it ends, not when gRPC is done
  // with it.
  void Fail(const absl::Status& status) {
    if (!progress_->ClaimEnd()) return;
    Release();
    FinishClaimed(status);
  }

  void End(const grpc::Status& status) {
    if (!progress_->ClaimEnd()) return;
    Release();
    FinishClaimedGrpc(status);
  }

  void FinishClaimed(const absl::Status& status) noexcept {
    grpc::Status converted;
    try {
      converted = ToGrpcStatus(status, plan_.has_value() ? plan_->token : "");
    } catch (...) {
      converted = grpc::Status(static_cast<grpc::StatusCode>(status.code()), "");
    }
    FinishClaimedGrpc(converted);
  }

  // Every way a call ends: its log line, then its status to the client.
  // Output bytes: what was written of the result.
  void FinishClaimedGrpc(const grpc::Status& status) noexcept {
    this->Finish(log_.Finish(status, offset_));
  }

  // The buffers a failed call no longer needs, given back before its status
  // is built (which, out of memory, needs a little memory).
  void Release() noexcept {
    if (mail_.has_value()) mail_->Clear();
    output_.body = cms::MailPieces();
    lease_.Resize(0);
  }

  // Runs a step of the call; an exception ends the call with its status.
  template <typename Step>
  void Guarded(Step&& step) noexcept {
    if (absl::Status failed = RunCatching(std::forward<Step>(step)); !failed.ok()) Fail(failed);
  }

  grpc::CallbackServerContext* context_;
  const MailCallLimits limits_;
  Admit admit_;
  CallLog log_;
  std::shared_ptr<CallProgress> progress_;
  Request request_;
  std::optional<MailPlan> plan_;
  ByteBudget::Lease lease_;
  uint64_t declared_size_ = 0;
  std::atomic<bool> cancelled_{false};
  // From admission on.
  std::optional<MailBuffer> mail_;
  MailOutput output_;
  v1::MailResponse response_;
  size_t offset_ = 0;
};

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_MAIL_CALL_H_
