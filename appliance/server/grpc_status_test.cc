#include "appliance/server/grpc_status.h"

#include "absl/strings/cord.h"
#include "appliance/cms/recipient_check.h"
#include "gtest/gtest.h"
#include "signet/v1/errors.pb.h"
#include "tests/fixtures/test_pki.h"
#include "tokens/ck_status.h"

namespace signet::server {
namespace {

v1::ErrorDetails DetailsOf(const grpc::Status& status) {
  v1::ErrorDetails details;
  EXPECT_TRUE(details.ParseFromString(status.error_details()));
  return details;
}

TEST(GrpcStatusTest, TokenFaultIsUnavailableRetryableWithItsCkrName) {
  grpc::Status status =
      ToGrpcStatus(Pkcs11Error("C_Sign", CKR_DEVICE_ERROR, "on token 'hsm-a'"), "hsm-a");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message(), "C_Sign on token 'hsm-a': CKR_DEVICE_ERROR");
  v1::ErrorDetails details = DetailsOf(status);
  EXPECT_EQ(details.ckr(), "CKR_DEVICE_ERROR");
  EXPECT_TRUE(details.retryable());
  EXPECT_EQ(details.token(), "hsm-a");
}

TEST(GrpcStatusTest, CodesMapOneToOne) {
  const struct {
    absl::Status status;
    grpc::StatusCode code;
  } cases[] = {
      {absl::InvalidArgumentError("bad mail"), grpc::StatusCode::INVALID_ARGUMENT},
      {absl::PermissionDeniedError("no"), grpc::StatusCode::PERMISSION_DENIED},
      {absl::ResourceExhaustedError("queue full"), grpc::StatusCode::RESOURCE_EXHAUSTED},
      {absl::FailedPreconditionError("locked out"), grpc::StatusCode::FAILED_PRECONDITION},
      {absl::DeadlineExceededError("late"), grpc::StatusCode::DEADLINE_EXCEEDED},
      {absl::NotFoundError("no key"), grpc::StatusCode::NOT_FOUND},
  };
  for (const auto& c : cases) {
    grpc::Status status = ToGrpcStatus(c.status);
    EXPECT_EQ(status.error_code(), c.code) << c.status;
    EXPECT_EQ(status.error_message(), c.status.message());
    EXPECT_FALSE(DetailsOf(status).retryable());
  }
}

TEST(GrpcStatusTest, InternalErrorsDoNotLeakTheirText) {
  grpc::Status status = ToGrpcStatus(absl::InternalError(
      "signing failed: error:1C800064:Provider routines::bad decrypt (/etc/secret/path)"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(status.error_message(), "internal error");
}

TEST(GrpcStatusTest, VerifyFailureTravelsInTheDetails) {
  absl::Status failure = absl::InvalidArgumentError("the signed content was changed");
  failure.SetPayload("type.signet.dev/signet.cms.VerifyFailure", absl::Cord("CONTENT_CHANGED"));
  grpc::Status status = ToGrpcStatus(failure);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(DetailsOf(status).verify_failure(), "CONTENT_CHANGED");
}

TEST(GrpcStatusTest, ARecipientRefusalTravelsInTheDetails) {
  // Made by the recipient check itself, so the payloads are its own.
  absl::StatusOr<fixtures::TestCa> ca = fixtures::TestCa::Create("Customer CA");
  ASSERT_TRUE(ca.ok());
  absl::StatusOr<EvpPkeyPtr> key = fixtures::GenerateKey("EC:P-256");
  ASSERT_TRUE(key.ok());
  absl::StatusOr<X509Ptr> stranger =
      ca->Issue(key->get(), "Customer", "customer@example.org", {.for_encryption = true});
  ASSERT_TRUE(stranger.ok());
  absl::StatusOr<fixtures::TestCa> anchor = fixtures::TestCa::Create("Other CA");
  ASSERT_TRUE(anchor.ok());
  absl::StatusOr<cms::TrustStore> trust =
      cms::TrustStore::FromCertificates({anchor->certificate()});
  ASSERT_TRUE(trust.ok());
  grpc::Status status = ToGrpcStatus(cms::CheckRecipients({}, *trust, {stranger->get()}));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  const v1::ErrorDetails error_details = DetailsOf(status);
  const v1::RecipientRefusal& details = error_details.recipient_refusal();
  EXPECT_EQ(details.failure(), "UNTRUSTED");
  EXPECT_EQ(details.index(), 0);
  EXPECT_EQ(details.subject(), "CN=Customer");
  ASSERT_EQ(details.email_addresses_size(), 1);
  EXPECT_EQ(details.email_addresses(0), "customer@example.org");
  // Other errors carry none.
  EXPECT_FALSE(DetailsOf(ToGrpcStatus(absl::InvalidArgumentError("x"))).has_recipient_refusal());
}

}  // namespace
}  // namespace signet::server
