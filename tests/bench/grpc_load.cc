#include "tests/bench/grpc_load.h"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "signet/v1/directory.grpc.pb.h"
#include "signet/v1/mail.grpc.pb.h"
#include "signet/v1/timestamp.grpc.pb.h"

namespace signet::bench {
namespace {

constexpr size_t kChunk = 64 * 1024;
constexpr auto kDeadline = std::chrono::seconds(120);

// The header and chunk messages of one streamed call, built once and shared
// (read only) by every call with the same key.
template <typename Request>
std::vector<Request> StreamMessages(const std::string& key, const std::string& payload) {
  std::vector<Request> messages(1);
  messages[0].mutable_header()->set_key(key);
  messages[0].mutable_header()->set_size(payload.size());
  for (size_t offset = 0; offset < payload.size(); offset += kChunk) {
    messages.emplace_back().set_chunk(payload.substr(offset, kChunk));
  }
  return messages;
}

std::vector<v1::SignMailRequest> SignMessages(const std::string& key, const std::string& payload,
                                              bool timestamp) {
  std::vector<v1::SignMailRequest> messages = StreamMessages<v1::SignMailRequest>(key, payload);
  messages[0].mutable_header()->mutable_options()->set_timestamp(timestamp);
  return messages;
}

// VerifyMail's header has no key: it asks for a trusted chain instead.
std::vector<v1::VerifyMailRequest> VerifyMessages(const std::string& payload) {
  std::vector<v1::VerifyMailRequest> messages(1);
  messages[0].mutable_header()->set_require_trusted_chain(true);
  messages[0].mutable_header()->set_size(payload.size());
  for (size_t offset = 0; offset < payload.size(); offset += kChunk) {
    messages.emplace_back().set_chunk(payload.substr(offset, kChunk));
  }
  return messages;
}

// EncryptMail's header has no key either: it names the one recipient, by
// certificate or by address.
std::vector<v1::EncryptMailRequest> EncryptMessages(const std::string& recipient,
                                                    const std::string& payload, bool by_address) {
  std::vector<v1::EncryptMailRequest> messages(1);
  v1::EncryptOptions* options = messages[0].mutable_header()->mutable_options();
  if (by_address) {
    options->add_recipient_addresses(recipient);
  } else {
    options->add_recipient_certificates(recipient);
  }
  messages[0].mutable_header()->set_size(payload.size());
  for (size_t offset = 0; offset < payload.size(); offset += kChunk) {
    messages.emplace_back().set_chunk(payload.substr(offset, kChunk));
  }
  return messages;
}

class Driver {
 public:
  Driver(const std::vector<std::shared_ptr<grpc::Channel>>& channels, const GrpcLoad& load)
      : load_(load) {
    for (const auto& channel : channels) {
      stubs_.push_back(v1::Mail::NewStub(channel));
      timestamp_stubs_.push_back(v1::Timestamps::NewStub(channel));
      directory_stubs_.push_back(v1::Directory::NewStub(channel));
    }
    timestamp_.set_query(load.payload);
    // Only the messages of the call measured: a lookup load has many keys.
    for (const std::string& key : load.keys) {
      switch (load.rpc) {
        case Rpc::kSignMail:
          sign_mail_.push_back(SignMessages(key, load.payload, load.timestamp));
          break;
        case Rpc::kDecryptMail:
          decrypt_mail_.push_back(StreamMessages<v1::DecryptMailRequest>(key, load.payload));
          break;
        case Rpc::kVerifyMail:
          verify_mail_.push_back(VerifyMessages(load.payload));
          break;
        case Rpc::kSignDigest: {
          v1::SignDigestRequest& digest = sign_digest_.emplace_back();
          digest.set_key(key);
          digest.set_digest_algorithm(v1::SHA256);
          digest.set_digest(load.payload);
          break;
        }
        case Rpc::kEncryptMail:
          encrypt_mail_.push_back(EncryptMessages(key, load.payload, load.recipients_by_address));
          break;
        case Rpc::kLookup:
          lookup_.emplace_back().set_address(key);
          break;
        case Rpc::kTimestamp:
          break;
      }
    }
  }

  LoadResult Run();
  void Completed(Clock::time_point begin, const grpc::Status& status);

 private:
  void Start(Clock::time_point begin);

  const GrpcLoad& load_;
  std::vector<std::unique_ptr<v1::Mail::Stub>> stubs_;
  std::vector<std::unique_ptr<v1::Timestamps::Stub>> timestamp_stubs_;
  std::vector<std::unique_ptr<v1::Directory::Stub>> directory_stubs_;
  std::vector<std::vector<v1::SignMailRequest>> sign_mail_;
  std::vector<std::vector<v1::DecryptMailRequest>> decrypt_mail_;
  std::vector<std::vector<v1::VerifyMailRequest>> verify_mail_;
  std::vector<v1::SignDigestRequest> sign_digest_;
  std::vector<std::vector<v1::EncryptMailRequest>> encrypt_mail_;
  std::vector<v1::LookupRequest> lookup_;
  v1::TimestampRequest timestamp_;
  std::atomic<uint64_t> next_{0};

  std::mutex mu_;
  std::condition_variable idle_;
  Window window_;
  LoadResult result_;
  int in_flight_ = 0;
};

template <typename Request>
class StreamCall final : public grpc::ClientBidiReactor<Request, v1::MailResponse> {
 public:
  using Starter = void (v1::Mail::Stub::async_interface::*)(
      grpc::ClientContext*, grpc::ClientBidiReactor<Request, v1::MailResponse>*);

  StreamCall(Driver* driver, const std::vector<Request>* messages, Clock::time_point begin)
      : driver_(driver), messages_(messages), begin_(begin) {
    context_.set_deadline(std::chrono::system_clock::now() + kDeadline);
  }

  void Go(v1::Mail::Stub& stub, Starter starter) {
    // As docs/api.md advises a client: the metadata goes with the header,
    // and the last chunk carries the end of the stream.
    context_.set_initial_metadata_corked(true);
    (stub.async()->*starter)(&context_, this);
    this->StartRead(&response_);
    WriteNext();
    this->StartCall();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return;  // the call is ending; OnDone has its status
    if (next_ < messages_->size()) WriteNext();
  }
  void OnReadDone(bool ok) override {
    if (ok) this->StartRead(&response_);
  }
  void OnDone(const grpc::Status& status) override {
    Driver* driver = driver_;
    const Clock::time_point begin = begin_;
    delete this;
    driver->Completed(begin, status);
  }

 private:
  void WriteNext() {
    const Request* message = &(*messages_)[next_];
    if (++next_ == messages_->size()) return this->StartWriteLast(message, grpc::WriteOptions());
    this->StartWrite(message);
  }

  Driver* driver_;
  const std::vector<Request>* messages_;
  Clock::time_point begin_;
  grpc::ClientContext context_;
  v1::MailResponse response_;
  size_t next_ = 0;
};

template <typename Response>
struct UnaryCall {
  grpc::ClientContext context;
  Response response;
};

void Driver::Start(Clock::time_point begin) {
  const uint64_t n = next_.fetch_add(1, std::memory_order_relaxed);
  v1::Mail::Stub& stub = *stubs_[n % stubs_.size()];
  const size_t key = n % load_.keys.size();
  switch (load_.rpc) {
    case Rpc::kSignMail:
      (new StreamCall<v1::SignMailRequest>(this, &sign_mail_[key], begin))
          ->Go(stub, &v1::Mail::Stub::async_interface::SignMail);
      break;
    case Rpc::kDecryptMail:
      (new StreamCall<v1::DecryptMailRequest>(this, &decrypt_mail_[key], begin))
          ->Go(stub, &v1::Mail::Stub::async_interface::DecryptMail);
      break;
    case Rpc::kVerifyMail:
      (new StreamCall<v1::VerifyMailRequest>(this, &verify_mail_[key], begin))
          ->Go(stub, &v1::Mail::Stub::async_interface::VerifyMail);
      break;
    case Rpc::kEncryptMail:
      (new StreamCall<v1::EncryptMailRequest>(this, &encrypt_mail_[key], begin))
          ->Go(stub, &v1::Mail::Stub::async_interface::EncryptMail);
      break;
    case Rpc::kLookup: {
      auto* call = new UnaryCall<v1::LookupResponse>;
      call->context.set_deadline(std::chrono::system_clock::now() + kDeadline);
      directory_stubs_[n % directory_stubs_.size()]->async()->Lookup(
          &call->context, &lookup_[key], &call->response, [this, call, begin](grpc::Status status) {
            // An address the directory has no usable certificate for is an
            // OK call with none: a bench counting it would measure misses.
            if (status.ok() && call->response.certificates().empty()) {
              status = grpc::Status(
                  grpc::StatusCode::NOT_FOUND,
                  absl::StrCat(
                      "no certificate for ", call->response.address(), ": ",
                      call->response.problems().empty() ? "" : call->response.problems(0)));
            }
            delete call;
            Completed(begin, status);
          });
      break;
    }
    case Rpc::kSignDigest: {
      auto* call = new UnaryCall<v1::SignDigestResponse>;
      call->context.set_deadline(std::chrono::system_clock::now() + kDeadline);
      stub.async()->SignDigest(&call->context, &sign_digest_[key], &call->response,
                               [this, call, begin](grpc::Status status) {
                                 delete call;
                                 Completed(begin, status);
                               });
      break;
    }
    case Rpc::kTimestamp: {
      auto* call = new UnaryCall<v1::TimestampResponse>;
      call->context.set_deadline(std::chrono::system_clock::now() + kDeadline);
      timestamp_stubs_[n % timestamp_stubs_.size()]->async()->Timestamp(
          &call->context, &timestamp_, &call->response, [this, call, begin](grpc::Status status) {
            // A refusal is an OK call whose reply says so (PKIStatus 2 and
            // up): a bench counting it as a stamp would measure refusals.
            if (status.ok() && call->response.status() > 1) {
              status = grpc::Status(grpc::StatusCode::UNKNOWN,
                                    absl::StrCat("TSA refused (PKIStatus ", call->response.status(),
                                                 ") ", call->response.failure()));
            }
            delete call;
            Completed(begin, status);
          });
      break;
    }
  }
}

void Driver::Completed(Clock::time_point begin, const grpc::Status& status) {
  const Clock::time_point done = Clock::now();
  bool again = false;
  {
    std::lock_guard lock(mu_);
    ++result_.all_completed;
    if (window_.Counts(done)) {
      if (status.ok()) {
        ++result_.requests;
        result_.latency.Record(std::chrono::nanoseconds(done - begin).count());
      } else if (result_.errors++ == 0) {
        result_.first_error =
            absl::StrCat(static_cast<int>(status.error_code()), " ", status.error_message());
      }
    }
    if (load_.target_per_second == 0 && done < window_.end) {
      again = true;
    } else if (--in_flight_ == 0) {
      idle_.notify_all();
    }
  }
  if (again) Start(Clock::now());
}

LoadResult Driver::Run() {
  const Clock::time_point now = Clock::now();
  {
    std::lock_guard lock(mu_);
    window_ = Window::After(now, load_.timing);
  }
  if (load_.target_per_second == 0) {
    {
      std::lock_guard lock(mu_);
      in_flight_ = load_.concurrency;
    }
    for (int i = 0; i < load_.concurrency; ++i) Start(Clock::now());
  } else {
    // Each call's latency is counted from when it was due, not from when it
    // could start: a client that waits would otherwise hide the queueing.
    const auto interval = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(1.0 / load_.target_per_second));
    for (Clock::time_point due = now; due < window_.end; due += interval) {
      std::this_thread::sleep_until(due);
      {
        std::lock_guard lock(mu_);
        if (in_flight_ >= load_.concurrency) {
          if (window_.Counts(due) && result_.errors++ == 0) {
            result_.first_error = "client: too many calls in flight";
          }
          continue;
        }
        ++in_flight_;
      }
      Start(due);
    }
  }
  std::unique_lock lock(mu_);
  idle_.wait(lock, [this] { return in_flight_ == 0; });
  result_.seconds = window_.seconds();
  return result_;
}

}  // namespace

std::vector<std::shared_ptr<grpc::Channel>> MakeChannels(
    const std::string& target, const std::shared_ptr<grpc::ChannelCredentials>& credentials,
    int count, const std::string& tls_name_override) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < count; ++i) {
    grpc::ChannelArguments arguments;
    // A connection of its own for each channel, not one shared subchannel.
    arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    arguments.SetInt("signet.bench.channel", i);
    arguments.SetMaxReceiveMessageSize(8 << 20);
    if (!tls_name_override.empty()) arguments.SetSslTargetNameOverride(tls_name_override);
    channels.push_back(grpc::CreateCustomChannel(target, credentials, arguments));
  }
  return channels;
}

absl::StatusOr<LoadResult> RunGrpcLoad(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                                       const GrpcLoad& load) {
  if (channels.empty() || load.keys.empty() || load.concurrency < 1) {
    return absl::InvalidArgumentError("a load needs channels, keys and concurrency");
  }
  Driver driver(channels, load);
  return driver.Run();
}

}  // namespace signet::bench
