#include "appliance/cms/mail_pieces.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "appliance/cms/mime.h"
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

// Bytes that are not all alike, so that a misplaced one shows.
std::string Bytes(size_t size, int seed) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 167 + seed) ^ (i >> 5));
  return bytes;
}

// "<" + base64 of (`head`, the backing's bytes [3, 3 + view), `tail`) + ">",
// over an owned backing of view + 5 bytes, and the same written eagerly.
struct Base64Sample {
  MailPieces pieces;
  std::string expected;
};

Base64Sample MakeBase64Sample(size_t head, size_t view, size_t tail) {
  const std::string backing = Bytes(view + 5, 1);
  const std::string head_bytes = Bytes(head, 2);
  const std::string tail_bytes = Bytes(tail, 3);
  Base64Sample sample{MailPieces::Over(backing), ""};
  sample.pieces.AppendOwned("<");
  sample.pieces.AppendBase64Of(head_bytes, sample.pieces.backing().substr(3, view), tail_bytes);
  sample.pieces.AppendOwned(">");
  sample.expected = absl::StrCat(
      "<", Base64Encode(absl::StrCat(head_bytes, backing.substr(3, view), tail_bytes)), ">");
  return sample;
}

TEST(MailPiecesTest, ABase64PieceReadsAsItsEagerEncodingForEveryLength) {
  absl::BitGen random;
  for (size_t length = 0; length <= 300; ++length) {
    // The bytes all in the backing, all owned, and split three ways (joins
    // inside lines and at their edges).
    const size_t splits[][2] = {
        {0, length}, {length, 0}, {length / 3, length / 3}, {std::min<size_t>(length, 57), 0}};
    for (const auto& split : splits) {
      const size_t head = split[0];
      const size_t view = split[1];
      Base64Sample sample = MakeBase64Sample(head, view, length - head - view);
      SCOPED_TRACE(absl::StrCat(length, " bytes: ", head, " head, ", view, " in the backing"));
      ASSERT_EQ(sample.pieces.size(), sample.expected.size());
      std::string out;
      sample.pieces.CopyTo(0, sample.expected.size() + 10, &out);
      EXPECT_EQ(out, sample.expected);
      for (int i = 0; i < 40; ++i) {
        const size_t pos = absl::Uniform<size_t>(random, 0, sample.expected.size() + 2);
        const size_t n = absl::Uniform<size_t>(random, 0, sample.expected.size() + 2);
        sample.pieces.CopyTo(pos, n, &out);
        ASSERT_EQ(out, pos > sample.expected.size() ? "" : sample.expected.substr(pos, n))
            << pos << " " << n;
      }
      EXPECT_EQ(std::move(sample.pieces).Flatten(), sample.expected);
    }
  }
}

TEST(MailPiecesTest, ALargeBase64PieceReadsInChunksAsItsEagerEncoding) {
  // Over many groups of lines, as signetd reads it (64 KiB at a time), and
  // at random.
  Base64Sample sample = MakeBase64Sample(1000, 700000, 30);
  ASSERT_EQ(sample.pieces.size(), sample.expected.size());
  std::string out;
  std::string joined;
  for (size_t pos = 0; pos < sample.pieces.size(); pos += 65536) {
    sample.pieces.CopyTo(pos, 65536, &out);
    joined += out;
  }
  EXPECT_TRUE(joined == sample.expected);
  absl::BitGen random;
  for (int i = 0; i < 200; ++i) {
    const size_t pos = absl::Uniform<size_t>(random, 0, sample.expected.size());
    const size_t n = absl::Uniform<size_t>(random, 0, 100000);
    sample.pieces.CopyTo(pos, n, &out);
    ASSERT_TRUE(out == sample.expected.substr(pos, n)) << pos << " " << n;
  }
}

TEST(MailPiecesTest, ABase64PieceHoldsItsOwnedBytesAndKeepsTheBacking) {
  std::string mail(100000, 'm');
  const size_t capacity = mail.capacity();
  MailPieces pieces = MailPieces::Over(std::move(mail));
  std::string head(3000, 'h');
  std::string tail(2000, 't');
  const size_t owned = head.capacity() + tail.capacity();
  pieces.AppendBase64Of(std::move(head), pieces.backing().substr(0, 90000), std::move(tail));
  EXPECT_EQ(pieces.held_bytes(), capacity + owned);
  EXPECT_EQ(pieces.size(), Base64EncodedSize(95000));
  // Its bytes are in the backing: it stays.
  EXPECT_FALSE(pieces.ReleaseBacking());
  // Nothing to encode: no piece.
  MailPieces empty = MailPieces::Over("abc");
  empty.AppendBase64Of("", empty.backing().substr(1, 0), "");
  EXPECT_EQ(empty.piece_count(), 0u);
  EXPECT_TRUE(empty.ReleaseBacking());
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
