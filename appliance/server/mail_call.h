// One streamed mail call (see mail_service.h): a bidi reactor that reads a
// header and chunks, admits the call at its header, runs the work on a
// queue once the mail is whole, and writes the result back in chunks.
#ifndef SIGNET_APPLIANCE_SERVER_MAIL_CALL_H_
#define SIGNET_APPLIANCE_SERVER_MAIL_CALL_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "appliance/server/call_deadline.h"
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
struct MailPlan {
  // Where the work runs.
  WorkQueue* queue = nullptr;
  // The token involved, for error details; empty for none.
  std::string token;
  // The work, given the whole mail.
  std::function<absl::StatusOr<MailOutput>(std::string mail)> run;
};

template <typename Request>
class MailCall final : public grpc::ServerBidiReactor<Request, v1::MailResponse> {
 public:
  using Header = typename Request::Header;
  // Admits the call (identity, authorization, rate, key) from its header.
  using Admit = std::function<absl::StatusOr<MailPlan>(const Header&)>;

  MailCall(grpc::CallbackServerContext* context, size_t max_bytes, Admit admit)
      : context_(context), max_bytes_(max_bytes), admit_(std::move(admit)) {
    this->StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The client finished sending (or went away).
      if (!plan_.has_value()) return Fail(absl::InvalidArgumentError("no header was sent"));
      return Run();
    }
    if (!plan_.has_value()) {
      if (!request_.has_header()) {
        return Fail(absl::InvalidArgumentError("the first message must be the header"));
      }
      if (request_.header().size() > max_bytes_) return TooLarge(request_.header().size());
      absl::StatusOr<MailPlan> plan = admit_(request_.header());
      if (!plan.ok()) return Fail(plan.status());
      plan_ = std::move(*plan);
    } else {
      if (!request_.has_chunk() || request_.chunk().size() > kChunkBytes) {
        return Fail(absl::InvalidArgumentError("after the header, only chunks of up to 64 KiB"));
      }
      if (mail_.size() + request_.chunk().size() > max_bytes_) {
        return TooLarge(mail_.size() + request_.chunk().size());
      }
      mail_.append(request_.chunk());
    }
    this->StartRead(&request_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return this->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client left"));
    WriteNext();
  }

  void OnDone() override { delete this; }

 private:
  void Run() {
    const absl::Time deadline = DeadlineOf(*context_);
    MailPlan& plan = *plan_;
    absl::Status submitted = plan.queue->Submit(deadline, [this](absl::Status start) {
      if (!start.ok()) return Fail(start);
      absl::StatusOr<MailOutput> output = plan_->run(std::move(mail_));
      if (!output.ok()) return Fail(output.status());
      output_ = std::move(*output);
      output_.header.set_size(output_.body.size());
      *response_.mutable_header() = output_.header;
      this->StartWrite(&response_);
    });
    if (!submitted.ok()) Fail(submitted);
  }

  void WriteNext() {
    if (offset_ >= output_.body.size()) return this->Finish(grpc::Status::OK);
    const size_t length = std::min(kChunkBytes, output_.body.size() - offset_);
    response_.set_chunk(output_.body.substr(offset_, length));
    offset_ += length;
    this->StartWrite(&response_);
  }

  void TooLarge(size_t size) {
    Fail(absl::InvalidArgumentError(absl::StrCat(
        "the message is ", size, " bytes or more, over the limit of ", max_bytes_, " bytes")));
  }

  void Fail(const absl::Status& status) {
    this->Finish(ToGrpcStatus(status, plan_.has_value() ? plan_->token : ""));
  }

  grpc::CallbackServerContext* context_;
  const size_t max_bytes_;
  Admit admit_;
  Request request_;
  std::optional<MailPlan> plan_;
  std::string mail_;
  MailOutput output_;
  v1::MailResponse response_;
  size_t offset_ = 0;
};

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_MAIL_CALL_H_
