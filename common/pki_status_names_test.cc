#include "common/pki_status_names.h"

#include "common/asn1_text.h"
#include "common/ossl_ptr.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace signet {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(PkiStatusNamesTest, NamesStatusesAndFailureBits) {
  EXPECT_EQ(PkiStatusName(0), "granted");
  EXPECT_EQ(PkiStatusName(2), "rejection");
  EXPECT_EQ(PkiStatusName(9), "status 9");
  EXPECT_THAT(PkiFailureNames(nullptr), IsEmpty());
  ASN1_BIT_STRING* bits = ASN1_BIT_STRING_new();
  ASSERT_NE(bits, nullptr);
  ASN1_BIT_STRING_set_bit(bits, 15, 1);
  ASN1_BIT_STRING_set_bit(bits, 0, 1);
  ASN1_BIT_STRING_set_bit(bits, 3, 1);  // not named by RFC 3161
  EXPECT_THAT(PkiFailureNames(bits), ElementsAre("badAlg", "unacceptedPolicy"));
  ASN1_BIT_STRING_free(bits);
}

TEST(Asn1TextTest, IntegersInHexAndOidsDotted) {
  Asn1IntegerPtr serial(ASN1_INTEGER_new());
  ASN1_INTEGER_set(serial.get(), 0x1a2b);
  EXPECT_EQ(IntegerHex(serial.get()), "1A2B");
  EXPECT_EQ(IntegerHex(nullptr), "");
  Asn1ObjectPtr policy(OBJ_txt2obj("1.3.6.1.4.1.99999.3161.1", 1));
  EXPECT_EQ(DottedOid(policy.get()), "1.3.6.1.4.1.99999.3161.1");
  EXPECT_EQ(DottedOid(OBJ_nid2obj(NID_sha256)), "2.16.840.1.101.3.4.2.1");
}

}  // namespace
}  // namespace signet
