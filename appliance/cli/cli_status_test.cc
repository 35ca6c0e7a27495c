#include "appliance/cli/cli_status.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/v1/errors.pb.h"

namespace signet::cli {
namespace {

std::string Details(const std::string& ckr, bool retryable, const std::string& token,
                    const std::string& verify_failure = "") {
  v1::ErrorDetails details;
  details.set_ckr(ckr);
  details.set_retryable(retryable);
  details.set_token(token);
  details.set_verify_failure(verify_failure);
  return details.SerializeAsString();
}

TEST(FormatErrorTest, ATokenFaultNamesTheCkrTheRetryAndTheToken) {
  grpc::Status status(grpc::StatusCode::UNAVAILABLE, "the token is not responding",
                      Details("CKR_DEVICE_ERROR", true, "hsm-a"));
  EXPECT_EQ(FormatError("sign", StatusFromGrpc(status)),
            "signet: sign: UNAVAILABLE: the token is not responding "
            "(CKR_DEVICE_ERROR, retryable, token hsm-a)");
  EXPECT_EQ(ExitCodeFor(StatusFromGrpc(status)), kExitFailed);
}

TEST(FormatErrorTest, AVerifyFailureIsNamed) {
  grpc::Status status(grpc::StatusCode::INVALID_ARGUMENT, "the mail does not verify",
                      Details("", false, "", "CONTENT_CHANGED"));
  EXPECT_EQ(FormatError("verify", StatusFromGrpc(status)),
            "signet: verify: INVALID_ARGUMENT: the mail does not verify (CONTENT_CHANGED)");
}

TEST(FormatErrorTest, EmptyOrUnparsableDetailsAddNothing) {
  EXPECT_EQ(
      FormatError("keys", StatusFromGrpc(grpc::Status(grpc::StatusCode::NOT_FOUND, "no token 'x'",
                                                      Details("", false, "")))),
      "signet: keys: NOT_FOUND: no token 'x'");
  EXPECT_EQ(FormatError("keys", StatusFromGrpc(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                                            "no token 'x'", "\xff\xff garbage"))),
            "signet: keys: NOT_FOUND: no token 'x'");
}

TEST(FormatErrorTest, TheLineIsOneLine) {
  EXPECT_EQ(FormatError("csr", absl::InvalidArgumentError("first\nsecond\r\nthird")),
            "signet: csr: INVALID_ARGUMENT: first second third");
}

TEST(FormatErrorTest, GrpcsTerseMessagesAreExplained) {
  EXPECT_EQ(
      FormatError("tokens", StatusFromGrpc(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, ""))),
      "signet: tokens: UNIMPLEMENTED: signetd does not offer this call (it is older than "
      "this signet)");
  EXPECT_THAT(FormatError("sign", StatusFromGrpc(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                                              "Deadline Exceeded"))),
              ::testing::HasSubstr("--timeout"));
}

TEST(ExitCodeTest, CannotConnectIsThreeAndTheSameCodeFromTheDaemonIsOne) {
  EXPECT_EQ(ExitCodeFor(absl::OkStatus()), kExitOk);
  EXPECT_EQ(ExitCodeFor(CannotConnectError("no socket")), kExitCannotConnect);
  EXPECT_EQ(FormatError("sign", CannotConnectError("no socket")),
            "signet: sign: UNAVAILABLE: no socket");
  EXPECT_EQ(ExitCodeFor(absl::UnavailableError("token fault")), kExitFailed);
}

}  // namespace
}  // namespace signet::cli
