// MailCall on a real gRPC server in this process, with plans that fail the
// ways a daemon can fail: out of memory while admitting or working, a client
// that stops sending, a byte budget that is used up, a server shutting down
// under a stalled call. Every call must be answered, with the status that
// says what happened, and give back what it held.
#include "appliance/server/mail_call.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <new>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/v1/mail.grpc.pb.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::server {
namespace {

using ::signet::matchers::IsOk;

using ::testing::HasSubstr;

constexpr absl::Duration kIdleTimeout = absl::Seconds(1);

// What the test's SignMail does with a call, set per test.
enum class Behaviour {
  kEcho,
  kAdmitThrows,
  kWorkThrows,
  kAnswerLaterThrows,
  kPrepareAccepts,
  kPrepareRefuses,
  // Answers with pieces that refer to the mail (as SignMail's do).
  kPiecesOfTheMail
};

class TestService final : public v1::Mail::CallbackService {
 public:
  TestService(MailCallLimits limits, WorkQueue& queue, WorkQueue& prepare_queue)
      : limits_(limits), queue_(queue), prepare_queue_(prepare_queue) {}

  grpc::ServerBidiReactor<v1::SignMailRequest, v1::MailResponse>* SignMail(
      grpc::CallbackServerContext* context) override {
    return new MailCall<v1::SignMailRequest>(
        context, "SignMail", limits_,
        [this](const v1::SignMailRequest::Header&, CallLog& log) -> absl::StatusOr<MailPlan> {
          log.set_caller("tester");
          if (behaviour == Behaviour::kAdmitThrows) throw std::bad_alloc();
          MailPlan plan{"tester", &queue_, "", [this](std::string mail, MailDone done) {
                          if (behaviour == Behaviour::kWorkThrows) throw std::bad_alloc();
                          if (behaviour == Behaviour::kAnswerLaterThrows) {
                            // The answer itself fails: gone before it is sent.
                            throw std::runtime_error("lost");
                          }
                          ++main_runs;
                          MailOutput output;
                          if (behaviour == Behaviour::kPiecesOfTheMail) {
                            // "head:", the mail less its first and last
                            // byte where it lies, ":tail".
                            output.body = cms::MailPieces::Over(std::move(mail));
                            const absl::string_view kept = output.body.backing();
                            output.body.AppendOwned("head:");
                            output.body.AppendBacking(kept.substr(1, kept.size() - 2));
                            output.body.AppendOwned(":tail");
                            answer_held = output.body.held_bytes();
                          } else {
                            output.body = cms::MailPieces::Of(
                                absl::StrCat("echo:", mail, prepared ? " (prepared)" : ""));
                          }
                          done(std::move(output));
                        }};
          if (behaviour == Behaviour::kPrepareAccepts || behaviour == Behaviour::kPrepareRefuses) {
            plan.prepare_queue = &prepare_queue_;
            plan.prepare = [this]() -> absl::Status {
              ++prepare_runs;
              if (behaviour == Behaviour::kPrepareRefuses) {
                return absl::InvalidArgumentError("recipient 1 is refused");
              }
              prepared = true;
              return absl::OkStatus();
            };
          }
          return plan;
        });
  }

  std::atomic<Behaviour> behaviour{Behaviour::kEcho};
  std::atomic<int> prepare_runs{0};
  std::atomic<int> main_runs{0};
  std::atomic<bool> prepared{false};
  std::atomic<size_t> answer_held{0};

 private:
  MailCallLimits limits_;
  WorkQueue& queue_;
  WorkQueue& prepare_queue_;
};

struct Answer {
  grpc::Status status;
  std::string body;
};

class MailCallTest : public ::testing::Test {
 protected:
  MailCallTest()
      : budget_(4 << 20, 2 << 20),
        watch_(kIdleTimeout),
        queue_("test", 2, 8),
        prepare_queue_("prepare", 1, 8),
        service_({.max_bytes = 8 << 20, .budget = &budget_, .idle_watch = &watch_}, queue_,
                 prepare_queue_) {}

  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::Mail::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }

  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    queue_.Shutdown();
    prepare_queue_.Shutdown();
  }

  // A whole call: header (announcing `announced`, 0 for the mail's size),
  // the mail in 64 KiB chunks, end of upload, the answer.
  Answer Call(const std::string& mail, uint64_t announced = 0) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    auto stream = stub_->SignMail(&context);
    Upload(*stream, announced != 0 ? announced : mail.size(), mail);
    stream->WritesDone();
    return Collect(*stream);
  }

  // What a client uploads: the header announcing `announced` bytes unless
  // it is nullopt (sent before), then `mail` in kChunkBytes chunks. False
  // once a write fails.
  template <typename Stream>
  static bool Upload(Stream& stream, std::optional<uint64_t> announced, const std::string& mail) {
    v1::SignMailRequest request;
    bool sent = true;
    if (announced.has_value()) {
      request.mutable_header()->set_size(*announced);
      sent = stream.Write(request);
    }
    for (size_t offset = 0; sent && offset < mail.size(); offset += kChunkBytes) {
      request.set_chunk(mail.substr(offset, kChunkBytes));
      sent = stream.Write(request);
    }
    return sent;
  }

  template <typename Stream>
  static Answer Collect(Stream& stream) {
    Answer answer;
    v1::MailResponse response;
    while (stream.Read(&response)) {
      if (response.has_chunk()) answer.body += response.chunk();
    }
    answer.status = stream.Finish();
    return answer;
  }

  // What the budget holds once the calls are done: a call that succeeded
  // gives its bytes back when gRPC is done with it, just after its client
  // has the answer.
  uint64_t SettledUse() {
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (budget_.used() != 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
    return budget_.used();
  }

  ByteBudget budget_;
  IdleCallWatch watch_;
  WorkQueue queue_;
  WorkQueue prepare_queue_;
  TestService service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Mail::Stub> stub_;
};

TEST_F(MailCallTest, AWholeCallIsAnsweredAndGivesItsBytesBack) {
  Answer answer = Call(std::string(300000, 'm'));
  ASSERT_THAT(answer.status, IsOk());
  EXPECT_EQ(answer.body, "echo:" + std::string(300000, 'm'));
  EXPECT_EQ(SettledUse(), 0u);
}

TEST_F(MailCallTest, AnAnswerInPiecesIsWrittenWholeAndHeldByTheBudget) {
  service_.behaviour = Behaviour::kPiecesOfTheMail;
  // Over a few chunks, with the pieces' joins inside them.
  std::string mail(3 * kChunkBytes + 1000, 'm');
  for (size_t i = 0; i < mail.size(); i += 997) mail[i] = static_cast<char>('a' + i % 26);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto stream = stub_->SignMail(&context);
  ASSERT_TRUE(Upload(*stream, mail.size(), mail));
  stream->WritesDone();
  v1::MailResponse response;
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_TRUE(response.has_header());
  const std::string expected = absl::StrCat("head:", mail.substr(1, mail.size() - 2), ":tail");
  EXPECT_EQ(response.header().size(), expected.size());
  // While it answers, the call holds the mail it refers to, not only what
  // it writes.
  EXPECT_GE(service_.answer_held, mail.size());
  EXPECT_EQ(budget_.used(), service_.answer_held);
  Answer answer = Collect(*stream);
  ASSERT_THAT(answer.status, IsOk());
  EXPECT_EQ(answer.body, expected);
  EXPECT_EQ(SettledUse(), 0u);
}

TEST_F(MailCallTest, APreparationRunsFirstOnItsOwnQueue) {
  service_.behaviour = Behaviour::kPrepareAccepts;
  Answer answer = Call("mail");
  ASSERT_THAT(answer.status, IsOk());
  EXPECT_EQ(answer.body, "echo:mail (prepared)");
  EXPECT_EQ(service_.prepare_runs, 1);
  EXPECT_EQ(service_.main_runs, 1);
  EXPECT_EQ(SettledUse(), 0u);
}

TEST_F(MailCallTest, ARefusedPreparationEndsTheCallBeforeItsWork) {
  service_.behaviour = Behaviour::kPrepareRefuses;
  Answer answer = Call("mail");
  EXPECT_EQ(answer.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(answer.status.error_message(), HasSubstr("recipient 1 is refused"));
  EXPECT_EQ(service_.prepare_runs, 1);
  EXPECT_EQ(service_.main_runs, 0);
  EXPECT_EQ(SettledUse(), 0u);
}

TEST_F(MailCallTest, OutOfMemoryWhileAdmittingIsAnswered) {
  service_.behaviour = Behaviour::kAdmitThrows;
  Answer answer = Call("mail");
  EXPECT_EQ(answer.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(answer.status.error_message(), HasSubstr("ran out of memory"));
}

TEST_F(MailCallTest, OutOfMemoryInTheWorkIsAnsweredAndTheWorkerLives) {
  service_.behaviour = Behaviour::kWorkThrows;
  for (int i = 0; i < 5; ++i) {
    Answer answer = Call(std::string(100000, 'm'));
    EXPECT_EQ(answer.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_THAT(answer.status.error_message(), HasSubstr("ran out of memory"));
  }
  EXPECT_EQ(budget_.used(), 0u);
  // The queue's workers survived the exceptions.
  service_.behaviour = Behaviour::kEcho;
  EXPECT_THAT(Call("after").status, IsOk());
}

TEST_F(MailCallTest, AnyOtherExceptionIsAnInternalError) {
  service_.behaviour = Behaviour::kAnswerLaterThrows;
  Answer answer = Call("mail");
  // What went wrong inside is not the client's business (grpc_status.h).
  EXPECT_EQ(answer.status.error_code(), grpc::StatusCode::INTERNAL);
}

TEST_F(MailCallTest, AnUploadThatStopsEndsWithDeadlineExceededAndFreesItsBuffer) {
  grpc::ClientContext context;
  auto stream = stub_->SignMail(&context);
  ASSERT_TRUE(Upload(*stream, 1 << 20, ""));
  // The server received the chunk after this.
  const absl::Time sent = absl::Now();
  ASSERT_TRUE(Upload(*stream, std::nullopt, std::string(kChunkBytes, 'm')));
  // The chunk arrived and is held, in a block for the announced 1 MiB.
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (budget_.used() == 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(budget_.used(), kMailBlockBytes);
  // Then nothing more: no end of upload either.
  Answer answer = Collect(*stream);
  EXPECT_EQ(answer.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_THAT(answer.status.error_message(), HasSubstr("upload_idle_timeout_seconds"));
  EXPECT_GE(absl::Now() - sent, kIdleTimeout);
  EXPECT_EQ(budget_.used(), 0u);
  EXPECT_EQ(watch_.expired(), 1);
}

TEST_F(MailCallTest, ACallThatSendsNothingAtAllIsEndedToo) {
  grpc::ClientContext context;
  auto stream = stub_->SignMail(&context);
  Answer answer = Collect(*stream);
  EXPECT_EQ(answer.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
}

TEST_F(MailCallTest, AnAnnouncedSizeReservesNothingBeyondASmallStart) {
  // 8 MiB announced, within the limit, and only 64 KiB sent: the budget
  // counts what arrived, not what was announced.
  grpc::ClientContext context;
  auto stream = stub_->SignMail(&context);
  ASSERT_TRUE(Upload(*stream, 8 << 20, std::string(kChunkBytes, 'm')));
  stream->WritesDone();
  Answer answer = Collect(*stream);
  EXPECT_EQ(answer.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(answer.status.error_message(), HasSubstr("ended after 65536 of the 8388608 bytes"));
  EXPECT_EQ(budget_.used(), 0u);
}

TEST_F(MailCallTest, AMailOverTheCallersShareIsRefusedAsRetryable) {
  // The caller may hold 2 MiB.
  Answer answer = Call(std::string(3 << 20, 'm'));
  EXPECT_EQ(answer.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(answer.status.error_message(), HasSubstr("max_caller_buffered_bytes"));
  EXPECT_EQ(budget_.used(), 0u);
  EXPECT_THAT(Call(std::string(1 << 20, 'm')).status, IsOk());
}

TEST_F(MailCallTest, ShutdownDoesNotWaitForAStalledUpload) {
  grpc::ClientContext context;
  auto stream = stub_->SignMail(&context);
  ASSERT_TRUE(Upload(*stream, 1 << 20, ""));
  std::thread reader([&] { Collect(*stream); });
  absl::SleepFor(absl::Milliseconds(100));
  const absl::Time start = absl::Now();
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(100));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  reader.join();
  server_.reset();
  EXPECT_EQ(SettledUse(), 0u);
}

}  // namespace
}  // namespace signet::server
