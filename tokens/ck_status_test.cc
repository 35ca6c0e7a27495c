#include "tokens/ck_status.h"

#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;

TEST(CkStatusTest, NamesKnownAndUnknownValues) {
  EXPECT_EQ(CkrName(CKR_PIN_INCORRECT), "CKR_PIN_INCORRECT");
  EXPECT_EQ(CkrName(CKR_DEVICE_REMOVED), "CKR_DEVICE_REMOVED");
  EXPECT_EQ(CkrName(0x8000abcdUL), "CKR_0x8000abcd");
}

TEST(CkStatusTest, TokenFaultsAreUnavailableAndRetryable) {
  for (CK_RV rv : {CKR_SESSION_HANDLE_INVALID, CKR_SESSION_CLOSED, CKR_DEVICE_ERROR,
                   CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT, CKR_USER_NOT_LOGGED_IN}) {
    absl::Status s = Pkcs11Error("C_Sign", rv);
    EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << CkrName(rv);
    EXPECT_TRUE(IsRetryable(s)) << CkrName(rv);
    EXPECT_TRUE(IsTokenFault(rv));
    EXPECT_EQ(CkRvOf(s), rv);
  }
}

TEST(CkStatusTest, OtherErrorsAreNotRetryable) {
  absl::Status pin = Pkcs11Error("C_Login", CKR_PIN_INCORRECT, "on token 'bank'");
  EXPECT_EQ(pin.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(IsRetryable(pin));
  EXPECT_EQ(pin.message(), "C_Login on token 'bank': CKR_PIN_INCORRECT");
  EXPECT_TRUE(IsPinRejection(CKR_PIN_INCORRECT));
  EXPECT_TRUE(IsPinRejection(CKR_PIN_LOCKED));
  EXPECT_TRUE(IsPinRejection(CKR_PIN_EXPIRED));
  EXPECT_FALSE(IsPinRejection(CKR_DEVICE_ERROR));

  EXPECT_EQ(Pkcs11Error("C_Decrypt", CKR_ENCRYPTED_DATA_INVALID).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Pkcs11Error("C_Sign", CKR_KEY_FUNCTION_NOT_PERMITTED).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Pkcs11Error("C_SignInit", CKR_MECHANISM_INVALID).code(),
            absl::StatusCode::kUnimplemented);
}

TEST(CkStatusTest, StatusWithoutCkRv) {
  EXPECT_FALSE(CkRvOf(absl::InternalError("x")).has_value());
  EXPECT_FALSE(IsRetryable(absl::UnavailableError("x")));
  EXPECT_TRUE(IsRetryable(MarkRetryable(absl::UnavailableError("x"))));
  EXPECT_THAT(MarkRetryable(absl::OkStatus()), IsOk());
  EXPECT_EQ(CkRvOf(AttachCkRv(absl::FailedPreconditionError("locked"), CKR_PIN_LOCKED)),
            CKR_PIN_LOCKED);
}

}  // namespace
}  // namespace signet
