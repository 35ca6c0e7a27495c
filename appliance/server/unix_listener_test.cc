#include "appliance/server/unix_listener.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/server.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "gtest/gtest.h"
#include "signet/v1/keys.grpc.pb.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/temp_dir.h"

namespace signet::server {
namespace {

using ::signet::matchers::IsOk;

// Answers ListTokens with one token named after the caller's stamped uid.
class WhoAmI final : public v1::Keys::CallbackService {
  grpc::ServerUnaryReactor* ListTokens(grpc::CallbackServerContext* context,
                                       const v1::ListTokensRequest*,
                                       v1::ListTokensResponse* response) override {
    std::optional<uint32_t> uid = PeerUid(*context->auth_context());
    response->add_tokens()->set_name(uid.has_value() ? std::to_string(*uid) : "none");
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

class UnixListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<fixtures::TempDir> dir = fixtures::TempDir::Create("unix-listener");
    ASSERT_THAT(dir, IsOk());
    dir_ = std::make_unique<fixtures::TempDir>(std::move(*dir));
    path_ = dir_->File("signetd.sock");
  }

  // Starts a server whose listener knows `uids`, and returns who the server
  // thinks each kind of client is.
  std::vector<std::string> Callers(const std::vector<uint32_t>& uids) {
    grpc::ServerBuilder builder;
    WhoAmI service;
    builder.RegisterService(&service);
    absl::StatusOr<std::unique_ptr<UnixListener>> listener =
        UnixListener::Create(builder, path_, 0660, uids);
    EXPECT_THAT(listener, IsOk());
    if (!listener.ok()) return {};
    std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
    (*listener)->Start();
    std::vector<std::string> seen;
    for (auto credentials :
         {grpc::InsecureChannelCredentials(), grpc::experimental::LocalCredentials(UDS)}) {
      auto stub = v1::Keys::NewStub(grpc::CreateChannel("unix:" + path_, credentials));
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      v1::ListTokensResponse response;
      grpc::Status status = stub->ListTokens(&context, {}, &response);
      EXPECT_THAT(status, IsOk());
      seen.push_back(response.tokens_size() == 1 ? response.tokens(0).name() : "?");
    }
    struct stat info {};
    EXPECT_EQ(stat(path_.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0660u);
    server->Shutdown();
    listener->reset();
    EXPECT_NE(access(path_.c_str(), F_OK), 0) << "the socket file is removed";
    return seen;
  }

  std::unique_ptr<fixtures::TempDir> dir_;
  std::string path_;
};

TEST_F(UnixListenerTest, CallsCarryTheConfiguredPeerUid) {
  const std::string me = std::to_string(getuid());
  EXPECT_EQ(Callers({getuid() + 1, getuid()}), (std::vector<std::string>{me, me}));
}

TEST_F(UnixListenerTest, UnconfiguredUsersCarryNoUid) {
  EXPECT_EQ(Callers({getuid() + 1}), (std::vector<std::string>{"none", "none"}));
}

TEST_F(UnixListenerTest, RefusesToReplaceAFileThatIsNotASocket) {
  { std::ofstream(path_) << "data"; }
  grpc::ServerBuilder builder;
  absl::StatusOr<std::unique_ptr<UnixListener>> listener =
      UnixListener::Create(builder, path_, 0600, {});
  EXPECT_EQ(listener.status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace signet::server
