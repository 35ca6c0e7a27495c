#include "appliance/milter/smtp_reply.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace signet::milter {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(MissingCertificateReplyTest, NamesTheRecipients) {
  EXPECT_EQ(MissingCertificateReply({"a@regulator.example", "b@regulator.example"}),
            "policy requires encryption; no S/MIME certificate for a@regulator.example, "
            "b@regulator.example");
}

TEST(MissingCertificateReplyTest, ManyRecipientsStayWithinOneLine) {
  std::vector<std::string> recipients;
  for (int i = 0; i < 1000; ++i)
    recipients.push_back("customer" + std::to_string(i) + "@x.example");
  const std::string reply = MissingCertificateReply(recipients);
  EXPECT_LE(reply.size(), kMaxReplyText);
  EXPECT_THAT(reply, HasSubstr("customer0@x.example, customer1@x.example"));
  EXPECT_THAT(reply, EndsWith(" more"));
  // The count is right: the named ones plus the rest make 1000.
  const size_t named = std::count(reply.begin(), reply.end(), '@');
  EXPECT_THAT(reply, EndsWith(" and " + std::to_string(1000 - named) + " more"));
}

TEST(MissingCertificateReplyTest, AnOverlongAddressIsCounted) {
  EXPECT_EQ(MissingCertificateReply({std::string(500, 'a') + "@x.example"}),
            "policy requires encryption; no S/MIME certificate for 1 recipients");
}

TEST(MissingCertificateReplyTest, RecipientsSignetdDidNotListAreCounted) {
  EXPECT_EQ(MissingCertificateReply({"a@regulator.example"}, 919),
            "policy requires encryption; no S/MIME certificate for a@regulator.example and 919 "
            "more");
  EXPECT_EQ(MissingCertificateReply({}, 5),
            "policy requires encryption; no S/MIME certificate for 5 recipients");
}

TEST(NameRecipientsTest, KeepsWithinTheBudget) {
  EXPECT_EQ(NameRecipients({"a@x.example", "b@x.example"}, 0, 100), "a@x.example, b@x.example");
  EXPECT_EQ(NameRecipients({"a@x.example", "b@x.example"}, 0, 50), "a@x.example and 1 more");
  EXPECT_EQ(NameRecipients({}, 0, 100), "");
}

TEST(ReplySafeTest, PercentAndControlCharacters) {
  EXPECT_EQ(ReplySafe("a%b@x.example\r\n250 ok"), "a%%b@x.example??250 ok");
  EXPECT_THAT(MissingCertificateReply({"100%@x.example"}), HasSubstr("100%%@x.example"));
  EXPECT_THAT(MissingCertificateReply({"a\r\n@x.example"}), Not(HasSubstr("\r")));
}

TEST(TooLargeReplyTest, SaysTheLimit) {
  EXPECT_EQ(TooLargeReply(52428800), "message too large for signet-milter (limit 52428800 bytes)");
}

}  // namespace
}  // namespace signet::milter
