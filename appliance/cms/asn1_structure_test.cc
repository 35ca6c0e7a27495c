#include "appliance/cms/asn1_structure.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::cms {
namespace {

using ::signet::matchers::IsOk;
using ::testing::Not;

using ::testing::HasSubstr;

absl::Status Check(const std::string& ber, int depth = 48) {
  Limits limits;
  limits.max_asn1_depth = depth;
  return CheckAsn1Structure(ber, limits);
}

std::string Bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

TEST(Asn1StructureTest, AcceptsDefiniteAndIndefiniteLengths) {
  // SEQUENCE { INTEGER 1, OCTET STRING "ab" }
  EXPECT_THAT(Check(Bytes({0x30, 0x07, 0x02, 0x01, 0x01, 0x04, 0x02, 'a', 'b'})), IsOk());
  // The same with an indefinite length, and a long-form length.
  EXPECT_THAT(Check(Bytes({0x30, 0x80, 0x02, 0x01, 0x01, 0x04, 0x02, 'a', 'b', 0, 0})), IsOk());
  EXPECT_THAT(Check(Bytes({0x30, 0x81, 0x03, 0x02, 0x01, 0x01})), IsOk());
  // A high tag number ([31] and above) and an empty constructed value.
  EXPECT_THAT(Check(Bytes({0xbf, 0x81, 0x00, 0x02, 0x30, 0x00})), IsOk());
  // Indefinite inside definite inside indefinite.
  EXPECT_THAT(
      Check(Bytes({0xa0, 0x80, 0x30, 0x06, 0x30, 0x80, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00})),
      IsOk());
}

TEST(Asn1StructureTest, RefusesBrokenLengths) {
  const std::string cases[] = {
      {},
      Bytes({0x30}),
      Bytes({0x30, 0x05, 0x02, 0x01}),                    // longer than the data
      Bytes({0x30, 0x03, 0x02, 0x05, 0x01, 0x02, 0x03}),  // child beyond its parent
      Bytes({0x30, 0x80, 0x02, 0x01, 0x01}),              // no end-of-contents
      Bytes({0x04, 0x80, 0x00, 0x00}),                    // indefinite primitive
      Bytes({0x30, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00}),  // five length octets
      Bytes({0x02, 0x01, 0x01, 0x02, 0x01, 0x01}),        // two values
      Bytes({0x00, 0x00}),                                // stray end-of-contents
      Bytes({0x1f, 0x81, 0x81, 0x81, 0x81, 0x01, 0x00}),  // tag number too long
  };
  for (const std::string& ber : cases) {
    absl::Status status = Check(ber);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << testing::PrintToString(ber);
  }
}

TEST(Asn1StructureTest, RefusesNestingOverTheLimitWithoutRecursing) {
  std::string open;
  std::string close;
  for (int i = 0; i < 100000; ++i) {
    open += Bytes({0x30, 0x80});
    close += Bytes({0x00, 0x00});
  }
  absl::Status status = Check(open + close);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("nesting deeper than 48"));
  // At the limit it passes.
  std::string at_limit;
  for (int i = 0; i < 48; ++i) at_limit += Bytes({0x30, 0x80});
  for (int i = 0; i < 48; ++i) at_limit += Bytes({0x00, 0x00});
  EXPECT_THAT(Check(at_limit), IsOk());
  EXPECT_THAT(Check(at_limit, 47), Not(IsOk()));
}

}  // namespace
}  // namespace signet::cms
