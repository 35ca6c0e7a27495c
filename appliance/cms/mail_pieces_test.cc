#include "appliance/cms/mail_pieces.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace signet::cms {
namespace {

// "<head>" + the backing's bytes [2, 8) + "<tail>", over an owned backing.
MailPieces Sample() {
  MailPieces pieces = MailPieces::Over("0123456789");
  const absl::string_view backing = pieces.backing();
  pieces.AppendOwned("<head>");
  pieces.AppendBacking(backing.substr(2, 6));
  pieces.AppendOwned("<tail>");
  return pieces;
}

TEST(MailPiecesTest, PiecesJoinInOrder) {
  MailPieces pieces = Sample();
  EXPECT_EQ(pieces.size(), 18u);
  ASSERT_EQ(pieces.piece_count(), 3u);
  EXPECT_EQ(pieces.piece(0), "<head>");
  EXPECT_EQ(pieces.piece(1), "234567");
  EXPECT_EQ(pieces.piece(2), "<tail>");
  EXPECT_EQ(std::move(pieces).Flatten(), "<head>234567<tail>");
  EXPECT_TRUE(pieces.empty());
}

TEST(MailPiecesTest, EveryRangeCopiesAsTheJoinedText) {
  const std::string joined = "<head>234567<tail>";
  MailPieces pieces = Sample();
  std::string out = "left over";
  for (size_t pos = 0; pos <= joined.size() + 1; ++pos) {
    for (size_t n = 0; n <= joined.size() + 2; ++n) {
      pieces.CopyTo(pos, n, &out);
      EXPECT_EQ(out, pos > joined.size() ? "" : joined.substr(pos, n)) << pos << " " << n;
    }
  }
}

TEST(MailPiecesTest, SpansSurviveAMoveOfASmallBacking) {
  // A small string's characters move with it: the pieces must not point
  // at where they were.
  MailPieces pieces = Sample();
  MailPieces moved = std::move(pieces);
  MailPieces again;
  again = std::move(moved);
  std::string out;
  again.CopyTo(0, 100, &out);
  EXPECT_EQ(out, "<head>234567<tail>");
}

TEST(MailPiecesTest, HeldBytesCountTheOwnedBackingAndPieces) {
  std::string mail(100000, 'm');
  const size_t capacity = mail.capacity();
  MailPieces pieces = MailPieces::Over(std::move(mail));
  EXPECT_EQ(pieces.held_bytes(), capacity);
  pieces.AppendBacking(pieces.backing().substr(10, 10));
  std::string head(5000, 'h');
  const size_t head_capacity = head.capacity();
  pieces.AppendOwned(std::move(head));
  // A span is no more memory than the backing it lies in.
  EXPECT_EQ(pieces.held_bytes(), capacity + head_capacity);

  const std::string kept(100000, 'k');
  MailPieces borrowing = MailPieces::Borrowing(kept);
  borrowing.AppendBacking(kept);
  EXPECT_EQ(borrowing.held_bytes(), 0u);
}

TEST(MailPiecesTest, TheBackingIsReleasedOnlyWhenNoPieceUsesIt) {
  MailPieces pieces = Sample();
  EXPECT_FALSE(pieces.ReleaseBacking());
  EXPECT_EQ(pieces.backing(), "0123456789");

  MailPieces unused = MailPieces::Over(std::string(100000, 'm'));
  unused.AppendOwned("result");
  EXPECT_TRUE(unused.ReleaseBacking());
  EXPECT_TRUE(unused.backing().empty());
  EXPECT_LT(unused.held_bytes(), 100u);
  EXPECT_EQ(std::move(unused).Flatten(), "result");
}

TEST(MailPiecesTest, FlattenMovesOneOwnedPieceOrTheBackingInsteadOfCopying) {
  std::string text(100000, 't');
  const char* const data = text.data();
  EXPECT_EQ(MailPieces::Of(std::move(text)).Flatten().data(), data);

  std::string mail = absl::StrCat("head", std::string(100000, 'b'), "tail");
  const char* const mail_data = mail.data();
  MailPieces slice = MailPieces::Over(std::move(mail));
  slice.AppendBacking(slice.backing().substr(4, 100000));
  const std::string flat = std::move(slice).Flatten();
  EXPECT_EQ(flat, std::string(100000, 'b'));
  EXPECT_EQ(flat.data(), mail_data);
}

TEST(MailPiecesTest, FlattenCopiesABorrowedBacking) {
  const std::string kept = "0123456789";
  MailPieces pieces = MailPieces::Borrowing(kept);
  pieces.AppendBacking(absl::string_view(kept).substr(3, 4));
  EXPECT_EQ(std::move(pieces).Flatten(), "3456");
  EXPECT_EQ(kept, "0123456789");
}

TEST(MailPiecesTest, EmptyTextsAddNoPiece) {
  MailPieces pieces = MailPieces::Over("abc");
  pieces.AppendOwned("");
  pieces.AppendBacking(pieces.backing().substr(1, 0));
  EXPECT_EQ(pieces.piece_count(), 0u);
  EXPECT_TRUE(pieces.empty());
  std::string out = "x";
  pieces.CopyTo(0, 10, &out);
  EXPECT_EQ(out, "");
}

TEST(JoinedContainsTest, FindsANeedleWithinAndAcrossEveryJoin) {
  const std::string needle = "=_boundary";
  // The needle split at every point, over two texts and over three (its
  // middle a text of its own).
  for (size_t cut = 0; cut <= needle.size(); ++cut) {
    const std::string left = absl::StrCat("xx", needle.substr(0, cut));
    const std::string right = absl::StrCat(needle.substr(cut), "yy");
    const std::vector<absl::string_view> two = {left, right};
    EXPECT_TRUE(JoinedContains(two, needle)) << cut;
    for (size_t cut2 = cut; cut2 <= needle.size(); ++cut2) {
      const std::string first = absl::StrCat("x", needle.substr(0, cut));
      const std::string middle = needle.substr(cut, cut2 - cut);
      const std::string last = absl::StrCat(needle.substr(cut2), "y");
      const std::vector<absl::string_view> three = {first, middle, last};
      EXPECT_TRUE(JoinedContains(three, needle)) << cut << " " << cut2;
    }
  }
  // Across many one-byte texts.
  std::vector<std::string> bytes;
  for (char c : absl::StrCat("ab", needle, "cd")) bytes.push_back(std::string(1, c));
  const std::vector<absl::string_view> views(bytes.begin(), bytes.end());
  EXPECT_TRUE(JoinedContains(views, needle));
}

TEST(JoinedContainsTest, DoesNotFindWhatIsNotThere) {
  const std::string needle = "=_boundary";
  // Every split of a text that holds the needle less one byte.
  const std::string almost = "xx=_boundar=_bounda_ry=boundary";
  for (size_t cut = 0; cut <= almost.size(); ++cut) {
    const std::string left = almost.substr(0, cut);
    const std::string right = almost.substr(cut);
    const std::vector<absl::string_view> two = {left, right};
    EXPECT_FALSE(JoinedContains(two, needle)) << cut;
  }
  const std::vector<absl::string_view> none;
  EXPECT_FALSE(JoinedContains(none, needle));
}

}  // namespace
}  // namespace signet::cms
