#include "tests/bench/smtp_submit.h"

#include "gtest/gtest.h"
#include "tests/fixtures/smtp_sink.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/temp_dir.h"

namespace signet::bench {
namespace {

TEST(DotStuffTest, DoublesLeadingDotsAndEndsWithTheFinalDot) {
  EXPECT_EQ(DotStuff(".a\r\nb.\r\n..c\r\n"), "..a\r\nb.\r\n...c\r\n.\r\n");
  EXPECT_EQ(DotStuff("no line break"), "no line break\r\n.\r\n");
  EXPECT_EQ(DotStuff("x\r\n."), "x\r\n..\r\n.\r\n");
  EXPECT_EQ(DotStuff(""), ".\r\n");
}

TEST(SubmitStuffedTest, TheSinkGetsTheMessageBackUnstuffed) {
  ASSERT_OK_AND_ASSIGN(fixtures::TempDir dir, fixtures::TempDir::Create("smtp-submit"));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<fixtures::SmtpSink> sink,
                       fixtures::SmtpSink::Start(dir.File("sink")));
  const std::string message = "Subject: dots\r\n\r\n.leading\r\n..two\r\nend\r\n";
  ASSERT_OK_AND_ASSIGN(fixtures::SmtpReply reply,
                       SubmitStuffed(sink->port(), "a@bank.example", "b@example.org",
                                     DotStuff(message), absl::Seconds(30)));
  EXPECT_EQ(reply.code, 250) << reply.command << " " << reply.text;
  ASSERT_OK_AND_ASSIGN(fixtures::SinkMessage stored, sink->WaitForMessage(absl::Seconds(30)));
  EXPECT_EQ(stored.mail_from, "a@bank.example");
  EXPECT_EQ(stored.recipients, std::vector<std::string>{"b@example.org"});
  EXPECT_EQ(stored.data, message);
}

}  // namespace
}  // namespace signet::bench
