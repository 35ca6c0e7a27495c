#include "appliance/server/mail_buffer.h"

#include "common/huge_pages.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::server {
namespace {

using ::signet::matchers::IsOk;

std::string Pattern(size_t size) {
  std::string data(size, '\0');
  for (size_t i = 0; i < size; ++i) data[i] = static_cast<char>('a' + i % 23);
  return data;
}

TEST(MailBufferTest, JoinsChunksIntoTheMail) {
  ByteBudget budget(64 << 20, 64 << 20);
  ByteBudget::Lease lease = budget.Open("mx");
  MailBuffer buffer(lease, 0);
  const std::string mail = Pattern(3 * kMailBlockBytes + 12345);
  for (size_t offset = 0; offset < mail.size(); offset += 65536) {
    ASSERT_THAT(buffer.Append(absl::string_view(mail).substr(offset, 65536)), IsOk());
  }
  EXPECT_EQ(buffer.size(), mail.size());
  // What the budget counts is what the blocks hold, within a block.
  EXPECT_GE(lease.held(), mail.size());
  EXPECT_LT(lease.held(), mail.size() + kMailBlockBytes);
  EXPECT_EQ(buffer.Take(), mail);
  EXPECT_EQ(buffer.size(), 0u);
}

TEST(MailBufferTest, AnAnnouncedSizeSizesTheBlocksExactly) {
  ByteBudget budget(64 << 20, 64 << 20);
  ByteBudget::Lease lease = budget.Open("mx");
  const std::string mail = Pattern(kMailBlockBytes + 1000);
  MailBuffer buffer(lease, mail.size());
  ASSERT_THAT(buffer.Append(mail.substr(0, 700000)), IsOk());
  ASSERT_THAT(buffer.Append(mail.substr(700000)), IsOk());
  EXPECT_EQ(lease.held(), mail.size());
  EXPECT_EQ(buffer.Take(), mail);
}

TEST(MailBufferTest, AnAnnouncedLargeMailIsWrittenIntoOneBufferAndDrawnAsItArrives) {
  ByteBudget budget(64 << 20, 64 << 20);
  ByteBudget::Lease lease = budget.Open("mx");
  const std::string mail = Pattern(3 * kMailBlockBytes + 12345);
  MailBuffer buffer(lease, mail.size());
  // The announcement draws nothing; the first chunk draws up to the
  // buffer's first huge-page boundary past it, not the announced size. Where
  // the buffer starts just short of a boundary (as under ASan's allocator),
  // that is the next one: at most a huge page beyond the chunk.
  EXPECT_EQ(lease.held(), 0u);
  ASSERT_THAT(buffer.Append(absl::string_view(mail).substr(0, 65536)), IsOk());
  EXPECT_GE(lease.held(), 65536u);
  EXPECT_LE(lease.held(), 65536 + kHugePageBytes);
  EXPECT_LT(lease.held(), mail.size());
  for (size_t offset = 65536; offset < mail.size(); offset += 65536) {
    ASSERT_THAT(buffer.Append(absl::string_view(mail).substr(offset, 65536)), IsOk());
    EXPECT_GE(lease.held(), buffer.size());
    EXPECT_LE(lease.held(), buffer.size() + kHugePageBytes);
  }
  EXPECT_TRUE(buffer.whole());
  EXPECT_EQ(lease.held(), mail.size());
  const std::string taken = buffer.Take();
  EXPECT_EQ(taken, mail);
  // The buffer of the announced size, handed over (a join would have made
  // a new one).
  EXPECT_LT(taken.capacity(), mail.size() + 4096);
  EXPECT_FALSE(buffer.whole());
}

TEST(MailBufferTest, ALargeMailOverItsAnnouncementGoesOnInBlocks) {
  ByteBudget budget(64 << 20, 64 << 20);
  ByteBudget::Lease lease = budget.Open("mx");
  const std::string mail = Pattern(3 * kMailBlockBytes);
  MailBuffer buffer(lease, 2 * kMailBlockBytes);
  for (size_t offset = 0; offset < mail.size(); offset += 65536) {
    ASSERT_THAT(buffer.Append(absl::string_view(mail).substr(offset, 65536)), IsOk());
    EXPECT_GE(lease.held(), buffer.size());
  }
  EXPECT_FALSE(buffer.whole());
  EXPECT_LT(lease.held(), mail.size() + kMailBlockBytes + 4096);
  EXPECT_EQ(buffer.Take(), mail);
}

TEST(MailBufferTest, AnAnnouncedMailTheBudgetCannotHoldIsRefusedAsItArrives) {
  ByteBudget budget(3 << 20, 3 << 20);
  ByteBudget::Lease lease = budget.Open("mx");
  MailBuffer buffer(lease, 8 << 20);
  const std::string chunk = Pattern(65536);
  absl::Status status;
  size_t appended = 0;
  while ((status = buffer.Append(chunk)).ok()) appended += chunk.size();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  // Refused at the budget (3 MiB), not at the announcement: what came
  // before was taken, and drawn for.
  EXPECT_GE(appended, size_t{1} << 20);
  EXPECT_LE(appended, size_t{3} << 20);
  EXPECT_EQ(buffer.size(), appended);
  EXPECT_GE(lease.held(), appended);
  EXPECT_LE(lease.held(), budget.total());
  buffer.Clear();
  EXPECT_EQ(buffer.size(), 0u);
}

TEST(MailBufferTest, ASmallShareTakesAnAnnouncedMailInBlocksWhereAHugePageDoesNotFit) {
  // Room for 2 MiB: a whole huge page after the first partial one does not
  // fit, 1 MiB blocks do, as they would without the announcement.
  ByteBudget budget(2 << 20, 2 << 20);
  ByteBudget::Lease lease = budget.Open("mx");
  const std::string mail = Pattern(size_t{2} << 20);
  MailBuffer buffer(lease, 8 << 20);
  for (size_t offset = 0; offset < mail.size(); offset += 65536) {
    ASSERT_THAT(buffer.Append(absl::string_view(mail).substr(offset, 65536)), IsOk()) << offset;
    EXPECT_GE(lease.held(), buffer.size());
  }
  EXPECT_TRUE(buffer.whole());
  EXPECT_EQ(buffer.Take(), mail);
}

TEST(MailBufferTest, ASmallMailTakesASmallBlockAndNoCopy) {
  ByteBudget budget(64 << 20, 64 << 20);
  ByteBudget::Lease lease = budget.Open("mx");
  MailBuffer buffer(lease, 0);
  ASSERT_THAT(buffer.Append("From: a@b.example\r\n\r\nhi\r\n"), IsOk());
  EXPECT_EQ(lease.held(), 64u * 1024);
  EXPECT_EQ(buffer.Take(), "From: a@b.example\r\n\r\nhi\r\n");
}

TEST(MailBufferTest, AnAnnouncementDoesNotBindTheClient) {
  // Announced 10 bytes, sent more: the buffer takes it (the call decides
  // whether the sizes must agree).
  ByteBudget budget(64 << 20, 64 << 20);
  ByteBudget::Lease lease = budget.Open("mx");
  MailBuffer buffer(lease, 10);
  const std::string mail = Pattern(200000);
  ASSERT_THAT(buffer.Append(mail.substr(0, 65536)), IsOk());
  ASSERT_THAT(buffer.Append(mail.substr(65536)), IsOk());
  EXPECT_EQ(buffer.Take(), mail);
}

TEST(MailBufferTest, ABlockTheBudgetCannotHoldIsRefusedAndNothingIsAppended) {
  ByteBudget budget(3 << 20, 3 << 20);
  ByteBudget::Lease lease = budget.Open("mx");
  MailBuffer buffer(lease, 0);
  const std::string chunk = Pattern(65536);
  absl::Status status;
  size_t appended = 0;
  while ((status = buffer.Append(chunk)).ok()) appended += chunk.size();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(buffer.size(), appended);
  EXPECT_LE(lease.held(), budget.total());
  buffer.Clear();
  EXPECT_EQ(buffer.size(), 0u);
}

}  // namespace
}  // namespace signet::server
