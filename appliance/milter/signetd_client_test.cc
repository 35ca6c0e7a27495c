// SignetdClient against a gRPC server on a unix socket that goes away and
// comes back: the mail arriving after signetd's return must reach it within
// the call's deadline, however long signetd was away. (gRPC's default
// reconnect backoff grows to 120 s, so after a 20-second outage the
// milter kept deferring mail for up to two minutes with signetd up.)
#include "appliance/milter/signetd_client.h"

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "signet/v1/mail.grpc.pb.h"
#include "tests/fixtures/temp_dir.h"

namespace signet::milter {
namespace {

// Every method answers UNIMPLEMENTED: an answer that can only come from the
// server, where an unreachable one gives DEADLINE_EXCEEDED.
std::unique_ptr<grpc::Server> Serve(const std::string& socket,
                                    ::signet::v1::Mail::Service& service) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + socket, grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  return builder.BuildAndStart();
}

TEST(SignetdClientTest, ASignetdBackAfterALongOutageIsReachedWithinTheDeadline) {
  absl::StatusOr<fixtures::TempDir> dir = fixtures::TempDir::Create("signetd-client");
  ASSERT_TRUE(dir.ok()) << dir.status();
  const std::string socket = dir->File("signetd.sock");
  absl::StatusOr<std::unique_ptr<SignetdClient>> client =
      SignetdClient::Create({.socket = socket, .timeout = absl::Seconds(3)});
  ASSERT_TRUE(client.ok()) << client.status();

  // Mail keeps arriving for 20 s while signetd is away; each is deferred.
  const absl::Time back = absl::Now() + absl::Seconds(20);
  int deferred = 0;
  while (absl::Now() < back) {
    MailResult result = (*client)->VerifyMail("Subject: x\r\n\r\nx\r\n");
    EXPECT_TRUE(IsTemporary(result)) << result.status.error_message();
    ++deferred;
  }
  EXPECT_GT(deferred, 0);

  ::signet::v1::Mail::Service service;
  std::unique_ptr<grpc::Server> server = Serve(socket, service);
  ASSERT_NE(server, nullptr);
  MailResult result = (*client)->VerifyMail("Subject: x\r\n\r\nx\r\n");
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNIMPLEMENTED)
      << "signetd is up, yet the call ended with: " << result.status.error_message();
  server->Shutdown();
}

TEST(IsTemporaryTest, AMissingGrantWaitsButTheMailsOwnFromIsRefused) {
  MailResult grant;
  grant.status = grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "caller may not sign");
  EXPECT_TRUE(IsTemporary(grant));
  MailResult from = grant;
  from.details.set_sender_refusal("NO_FROM");
  EXPECT_FALSE(IsTemporary(from));
  MailResult malformed;
  malformed.status = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "malformed");
  EXPECT_FALSE(IsTemporary(malformed));
  MailResult down;
  down.status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused");
  EXPECT_TRUE(IsTemporary(down));
}

}  // namespace
}  // namespace signet::milter
