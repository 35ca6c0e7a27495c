#include "appliance/cli/mail_stream.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "appliance/cli/cli_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/v1/errors.pb.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::cli {
namespace {

using ::signet::matchers::IsOk;
using ::testing::Not;

using ::testing::Each;
using ::testing::Le;

// A server that takes the whole mail, then answers with what it was given
// (or refuses the call at once).
class FakeServer {
 public:
  std::vector<v1::MailResponse> responses;
  grpc::Status status = grpc::Status::OK;
  // Ends the call before any input arrives, as signetd does when it refuses
  // a call at its header.
  bool refuse_at_once = false;

  MailStreamOps Ops() {
    return MailStreamOps{
        .write_chunk =
            [this](absl::string_view chunk) {
              absl::MutexLock lock(&mutex_);
              if (refuse_at_once || cancelled_) return false;
              chunk_sizes_.push_back(chunk.size());
              received_.append(chunk.data(), chunk.size());
              return true;
            },
        .writes_done =
            [this] {
              absl::MutexLock lock(&mutex_);
              writes_done_ = true;
            },
        .read =
            [this](v1::MailResponse* response) {
              absl::MutexLock lock(&mutex_);
              if (!refuse_at_once) {
                auto ready = [this] { return writes_done_ || cancelled_; };
                mutex_.Await(absl::Condition(&ready));
              }
              if (cancelled_ || next_ >= responses.size()) return false;
              *response = responses[next_++];
              return true;
            },
        .finish =
            [this] {
              absl::MutexLock lock(&mutex_);
              return cancelled_ ? grpc::Status(grpc::StatusCode::CANCELLED, "cancelled") : status;
            },
        .cancel =
            [this] {
              absl::MutexLock lock(&mutex_);
              cancelled_ = true;
            },
    };
  }

  std::vector<size_t> chunk_sizes() {
    absl::MutexLock lock(&mutex_);
    return chunk_sizes_;
  }
  std::string received() {
    absl::MutexLock lock(&mutex_);
    return received_;
  }
  bool writes_done() {
    absl::MutexLock lock(&mutex_);
    return writes_done_;
  }
  bool cancelled() {
    absl::MutexLock lock(&mutex_);
    return cancelled_;
  }

 private:
  absl::Mutex mutex_;
  std::vector<size_t> chunk_sizes_ ABSL_GUARDED_BY(mutex_);
  std::string received_ ABSL_GUARDED_BY(mutex_);
  bool writes_done_ ABSL_GUARDED_BY(mutex_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mutex_) = false;
  size_t next_ ABSL_GUARDED_BY(mutex_) = 0;
};

v1::MailResponse Header(uint64_t size) {
  v1::MailResponse response;
  response.mutable_header()->set_size(size);
  return response;
}

v1::MailResponse Chunk(const std::string& data) {
  v1::MailResponse response;
  response.set_chunk(data);
  return response;
}

class MailStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/signet-mail-stream-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    for (const char* name : {"in", "out"}) unlink((dir_ + "/" + name).c_str());
    rmdir(dir_.c_str());
  }
  std::string Path(const char* name) const { return dir_ + "/" + name; }
  std::string Read(const char* name) const {
    std::ifstream file(Path(name), std::ios::binary);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
  }
  InputFile Input(const std::string& contents) {
    std::ofstream(Path("in"), std::ios::binary) << contents;
    absl::StatusOr<InputFile> input = InputFile::Open(Path("in"));
    EXPECT_THAT(input, IsOk());
    return std::move(*input);
  }
  OutputFile Output(const std::string& path) {
    absl::StatusOr<OutputFile> output = OutputFile::Create(path);
    EXPECT_THAT(output, IsOk());
    return std::move(*output);
  }

  std::string dir_;
  Progress progress_{"test", false};
};

TEST_F(MailStreamTest, SendsChunksOfAtMost64KibAndWritesTheResultAsItArrives) {
  std::string mail(200 * 1024 + 17, 'm');
  for (size_t i = 0; i < mail.size(); i += 977) mail[i] = static_cast<char>('a' + i % 26);
  FakeServer server;
  server.responses = {Header(6), Chunk("res"), Chunk("ult")};
  InputFile input = Input(mail);
  OutputFile output = Output(Path("out"));
  absl::StatusOr<v1::MailResponse::Header> header =
      TransferMail(server.Ops(), input, output, progress_);
  ASSERT_THAT(header, IsOk());
  EXPECT_EQ(header->size(), 6u);
  EXPECT_EQ(server.received(), mail);
  EXPECT_THAT(server.chunk_sizes(), Each(Le(kChunkBytes)));
  EXPECT_EQ(server.chunk_sizes().size(), 4u);
  EXPECT_TRUE(server.writes_done());
  // Not committed yet: the file appears only with Commit.
  EXPECT_EQ(access(Path("out").c_str(), F_OK), -1);
  ASSERT_THAT(output.Commit(), IsOk());
  EXPECT_EQ(Read("out"), "result");
}

TEST_F(MailStreamTest, TheDaemonsErrorKeepsItsCodeAndDetails) {
  FakeServer server;
  v1::ErrorDetails details;
  details.set_ckr("CKR_DEVICE_ERROR");
  details.set_retryable(true);
  details.set_token("hsm-a");
  server.status =
      grpc::Status(grpc::StatusCode::UNAVAILABLE, "token fault", details.SerializeAsString());
  InputFile input = Input("mail");
  OutputFile output = Output(Path("out"));
  absl::StatusOr<v1::MailResponse::Header> header =
      TransferMail(server.Ops(), input, output, progress_);
  ASSERT_THAT(header, Not(IsOk()));
  EXPECT_EQ(FormatError("sign", header.status()),
            "signet: sign: UNAVAILABLE: token fault (CKR_DEVICE_ERROR, retryable, token hsm-a)");
}

TEST_F(MailStreamTest, ARefusalDoesNotWaitForInputThatNeverEnds) {
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  // The write end stays open: the input never ends.
  absl::StatusOr<InputFile> input = InputFile::Open("/proc/self/fd/" + std::to_string(pipe_fds[0]));
  ASSERT_THAT(input, IsOk());
  EXPECT_FALSE(input->size().has_value());
  FakeServer server;
  server.refuse_at_once = true;
  server.status = grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "not yours");
  OutputFile output = Output(Path("out"));
  const absl::Time start = absl::Now();
  absl::StatusOr<v1::MailResponse::Header> header =
      TransferMail(server.Ops(), *input, output, progress_);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(header.status().code(), absl::StatusCode::kPermissionDenied);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
}

TEST_F(MailStreamTest, AResultCutShortIsAnError) {
  FakeServer server;
  server.responses = {Header(10), Chunk("only")};
  InputFile input = Input("mail");
  OutputFile output = Output(Path("out"));
  absl::StatusOr<v1::MailResponse::Header> header =
      TransferMail(server.Ops(), input, output, progress_);
  EXPECT_EQ(header.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(header.status().message(), ::testing::HasSubstr("4 of 10 bytes"));
}

TEST_F(MailStreamTest, OutputBeforeTheHeaderIsRefused) {
  FakeServer server;
  server.responses = {Chunk("early"), Header(5)};
  InputFile input = Input("mail");
  OutputFile output = Output(Path("out"));
  absl::StatusOr<v1::MailResponse::Header> header =
      TransferMail(server.Ops(), input, output, progress_);
  EXPECT_EQ(header.status().code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(server.cancelled());
}

TEST_F(MailStreamTest, AnOutputThatCannotBeWrittenCancelsTheCall) {
  FakeServer server;
  server.responses = {Header(4), Chunk("data")};
  InputFile input = Input("mail");
  OutputFile output = Output("/dev/full");
  absl::StatusOr<v1::MailResponse::Header> header =
      TransferMail(server.Ops(), input, output, progress_);
  EXPECT_THAT(header, Not(IsOk()));
  EXPECT_THAT(header.status().message(), ::testing::HasSubstr("cannot write /dev/full"));
  EXPECT_TRUE(server.cancelled());
}

}  // namespace
}  // namespace signet::cli
