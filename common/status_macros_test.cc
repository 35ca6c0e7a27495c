#include "common/status_macros.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;

int evaluations = 0;

absl::Status Fails() {
  ++evaluations;
  return absl::NotFoundError("no such key");
}
absl::Status Succeeds() {
  ++evaluations;
  return absl::OkStatus();
}
absl::StatusOr<std::unique_ptr<std::string>> Value(bool ok) {
  ++evaluations;
  if (!ok) return absl::InvalidArgumentError("bad input");
  return std::make_unique<std::string>("value");
}

absl::Status ReturnIfError(bool fail, bool* reached) {
  RETURN_IF_ERROR(fail ? Fails() : Succeeds());
  *reached = true;
  return absl::OkStatus();
}

absl::StatusOr<std::string> AssignOrReturn(bool ok) {
  // A move-only value: moved out, not copied.
  ASSIGN_OR_RETURN(std::unique_ptr<std::string> value, Value(ok));
  ASSIGN_OR_RETURN(auto again, Value(ok));
  return *value + "+" + *again;
}

absl::Status StatusOfStatusOr(bool ok) {
  RETURN_IF_ERROR(Value(ok));
  return absl::OkStatus();
}

// A RETURN_IF_ERROR in a lambda inside another one's expression, as a step
// run through a helper that takes a callable (the build's -Wshadow -Werror
// is the check that the two do not clash).
absl::Status Nested(bool inner_fails) {
  auto run = [](auto step) { return step(); };
  RETURN_IF_ERROR(run([&]() -> absl::Status {
    RETURN_IF_ERROR(inner_fails ? Fails() : Succeeds());
    return absl::OkStatus();
  }));
  return absl::OkStatus();
}

TEST(StatusMacrosTest, ReturnIfErrorNestsInsideALambda) {
  EXPECT_THAT(Nested(false), IsOk());
  EXPECT_EQ(Nested(true).code(), absl::StatusCode::kNotFound);
}

TEST(StatusMacrosTest, ReturnIfErrorReturnsTheErrorAndEvaluatesOnce) {
  evaluations = 0;
  bool reached = false;
  absl::Status status = ReturnIfError(true, &reached);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "no such key");
  EXPECT_FALSE(reached);
  EXPECT_EQ(evaluations, 1);
  EXPECT_THAT(ReturnIfError(false, &reached), IsOk());
  EXPECT_TRUE(reached);
}

TEST(StatusMacrosTest, AssignOrReturnMovesTheValueOrReturnsTheStatus) {
  evaluations = 0;
  absl::StatusOr<std::string> result = AssignOrReturn(true);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(*result, "value+value");
  EXPECT_EQ(evaluations, 2);
  result = AssignOrReturn(false);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(evaluations, 3);
}

TEST(StatusMacrosTest, ReturnIfErrorTakesAStatusOr) {
  EXPECT_EQ(StatusOfStatusOr(false).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(StatusOfStatusOr(true), IsOk());
}

}  // namespace
}  // namespace signet
