// grpc_floor: what gRPC 1.51's callback API costs a server per call of the
// shape Signet's small calls have, with no work behind it: the floor under
// issue #20's "signetd CPU per call beyond the token" rows.
//
//   grpc_floor [--concurrency 16] [--measure-ms 2000] [--rounds 3] [--mail-bytes N]
//
// A child process serves Signet's Mail service on a unix socket with
// trivial reactors: SignMail reads the header, the chunks and the
// half-close, then answers as signetd does (the response header, then the
// last chunk with the status: two writes); SignDigest answers at once.
// "inline" answers on the gRPC thread that saw the half-close; "hop"
// answers from another thread, as signetd's audit writer does, which adds
// the wake-ups of a hand-off. The parent drives it with the bench's own
// load (grpc_load.h) and reads the child's CPU from /proc, as
// small_call_cpu reads signetd's. With --mail-bytes, SignMail alone with a
// mail that large, answered with as many bytes in 64 KiB chunks: run at 1
// KiB and at N MiB, the difference over N is what gRPC alone costs a server
// per MiB taken in and given back (the floor under the per-MiB rows).
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "signet/v1/mail.grpc.pb.h"
#include "tests/bench/grpc_load.h"
#include "tests/bench/process_stats.h"

namespace signet::bench {
namespace {

// What a 1 KiB signed mail comes back as, about.
// Bytes to answer from: a SignMail is answered with as many bytes as its
// mail had, at least 2,600 (about what a 1 KiB signed mail comes back as).
const std::string& Filler() {
  static const std::string* filler = new std::string(size_t{17} << 20, 'a');
  return *filler;
}
constexpr size_t kLeastAnswer = 2600;
constexpr size_t kChunk = 64 * 1024;

// One thread that runs what it is handed, standing in for the thread that
// answers a call in signetd.
class Hop {
 public:
  Hop() : thread_([this] { Run(); }) {}
  ~Hop() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  void Post(std::function<void()> task) {
    {
      std::lock_guard lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    wake_.notify_one();
  }

 private:
  void Run() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return done_ || !tasks_.empty(); });
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  bool done_ = false;
  std::thread thread_;
};

class SignMailCall : public grpc::ServerBidiReactor<v1::SignMailRequest, v1::MailResponse> {
 public:
  explicit SignMailCall(Hop* hop) : hop_(hop) { StartRead(&request_); }
  void OnReadDone(bool ok) override {
    if (ok) {
      received_ += request_.chunk().size();
      return StartRead(&request_);
    }
    answer_bytes_ = std::min(Filler().size(), std::max(kLeastAnswer, received_));
    auto answer = [this] {
      response_.mutable_header()->set_size(answer_bytes_);
      StartWrite(&response_);
    };
    if (hop_ != nullptr) return hop_->Post(answer);
    answer();
  }
  // The answer in chunks of 64 KiB as signetd writes it, the status with
  // the last.
  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status::CANCELLED);
    const size_t length = std::min(kChunk, answer_bytes_ - sent_);
    response_.set_chunk(Filler().data(), length);
    sent_ += length;
    if (sent_ == answer_bytes_) {
      return StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
    }
    StartWrite(&response_);
  }
  void OnDone() override { delete this; }

 private:
  Hop* hop_;
  v1::SignMailRequest request_;
  v1::MailResponse response_;
  size_t received_ = 0;
  size_t answer_bytes_ = 0;
  size_t sent_ = 0;
};

class FloorService : public v1::Mail::CallbackService {
 public:
  explicit FloorService(Hop* hop) : hop_(hop) {}
  grpc::ServerBidiReactor<v1::SignMailRequest, v1::MailResponse>* SignMail(
      grpc::CallbackServerContext*) override {
    return new SignMailCall(hop_);
  }
  grpc::ServerUnaryReactor* SignDigest(grpc::CallbackServerContext* context,
                                       const v1::SignDigestRequest*,
                                       v1::SignDigestResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    auto answer = [reactor, response] {
      response->set_signature(std::string(1200, 's'));
      response->set_micalg("sha-256");
      reactor->Finish(grpc::Status::OK);
    };
    if (hop_ != nullptr) {
      hop_->Post(answer);
    } else {
      answer();
    }
    return reactor;
  }

 private:
  Hop* hop_;
};

[[noreturn]] void Serve(const std::string& address, bool hop) {
  std::unique_ptr<Hop> hopper = hop ? std::make_unique<Hop>() : nullptr;
  FloorService service(hopper.get());
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) std::_Exit(3);
  server->Wait();
  std::_Exit(0);
}

int Run(int argc, char** argv) {
  int concurrency = 16;
  int rounds = 3;
  // With a mail size, SignMail alone: what gRPC costs to take a mail that
  // large and answer it, for the per-MiB rows' floor.
  size_t mail_bytes = 0;
  std::chrono::milliseconds measure{2000};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    const int value = std::atoi(argv[i + 1]);
    if (name == "--concurrency") {
      concurrency = value;
    } else if (name == "--rounds") {
      rounds = value;
    } else if (name == "--mail-bytes") {
      mail_bytes = static_cast<size_t>(std::atoll(argv[i + 1]));
    } else if (name == "--measure-ms") {
      measure = std::chrono::milliseconds(value);
    } else {
      std::fprintf(stderr, "grpc_floor: unknown flag %s\n", name.c_str());
      return 2;
    }
  }
  std::printf("%-10s %-6s %12s %10s %10s\n", "call", "answer", "server_us", "calls/s", "switches");
  // Both servers are forked before this process starts gRPC: a child of a
  // process with gRPC's threads running would inherit its locks mid-use.
  struct Server {
    bool hop;
    std::string socket;
    pid_t pid;
  };
  std::vector<Server> servers;
  for (const bool hop : {false, true}) {
    const std::string socket = absl::StrCat("/tmp/grpc-floor-", getpid(), hop ? "-hop" : "");
    std::remove(socket.c_str());
    const pid_t child = fork();
    if (child < 0) return 1;
    if (child == 0) Serve(absl::StrCat("unix:", socket), hop);
    servers.push_back({hop, socket, child});
  }
  for (const Server& server : servers) {
    const bool hop = server.hop;
    const pid_t child = server.pid;
    const std::string& socket = server.socket;
    const std::string address = absl::StrCat("unix:", socket);
    for (int i = 0; i < 200 && access(socket.c_str(), F_OK) != 0; ++i) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    auto channels = MakeChannels(address, grpc::InsecureChannelCredentials(), 4);
    for (const Rpc rpc : {Rpc::kSignMail, Rpc::kSignDigest}) {
      if (mail_bytes != 0 && rpc != Rpc::kSignMail) continue;
      GrpcLoad load{.rpc = rpc,
                    .keys = {"p256"},
                    .payload = rpc == Rpc::kSignMail
                                   ? std::string(mail_bytes != 0 ? mail_bytes : 1024, 'm')
                                   : std::string(32, 'd'),
                    .concurrency = concurrency,
                    .timing = {.warmup = std::chrono::milliseconds(0),
                               .measure = std::chrono::milliseconds(300)}};
      if (!RunGrpcLoad(channels, load).ok()) return 1;
      double best = 0;
      double best_rate = 0;
      double best_switches = 0;
      for (int round = 0; round < rounds; ++round) {
        load.timing.measure = measure;
        absl::StatusOr<ProcessStats> before = ReadProcessStats(child);
        absl::StatusOr<LoadResult> result = RunGrpcLoad(channels, load);
        absl::StatusOr<ProcessStats> after = ReadProcessStats(child);
        if (!before.ok() || !result.ok() || !after.ok() || result->errors != 0 ||
            result->all_completed == 0) {
          std::fprintf(stderr, "grpc_floor: a round failed\n");
          return 1;
        }
        const double calls = static_cast<double>(result->all_completed);
        const double micros = (after->cpu_seconds - before->cpu_seconds) / calls * 1e6;
        if (round == 0 || micros < best) {
          best = micros;
          best_rate = result->per_second();
          best_switches =
              static_cast<double>(after->context_switches - before->context_switches) / calls;
        }
      }
      std::printf("%-10s %-6s %12.1f %10.0f %10.2f\n",
                  rpc == Rpc::kSignMail ? "SignMail" : "SignDigest", hop ? "hop" : "inline", best,
                  best_rate, best_switches);
      std::fflush(stdout);
    }
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    std::remove(socket.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace signet::bench

int main(int argc, char** argv) { return signet::bench::Run(argc, argv); }
