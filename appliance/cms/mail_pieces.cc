#include "appliance/cms/mail_pieces.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "appliance/cms/base64_internal.h"
#include "appliance/cms/mime.h"
#include "common/huge_pages.h"

namespace signet::cms {

MailPieces MailPieces::Over(std::string backing) {
  MailPieces pieces;
  pieces.owned_backing_ = std::move(backing);
  return pieces;
}

MailPieces MailPieces::Borrowing(absl::string_view backing) {
  MailPieces pieces;
  pieces.borrowed_view_ = backing;
  pieces.borrowed_ = true;
  return pieces;
}

MailPieces MailPieces::Of(std::string text) {
  MailPieces pieces;
  pieces.AppendOwned(std::move(text));
  return pieces;
}

void MailPieces::AppendOwned(std::string text) {
  const size_t size = text.size();
  if (size == 0) return;
  owned_.push_back(std::move(text));
  pieces_.push_back({.owned = owned_.size() - 1, .offset = 0, .size = size});
  ends_.push_back(this->size() + size);
}

void MailPieces::AppendBacking(absl::string_view view) {
  const absl::string_view whole = backing();
  assert(view.data() >= whole.data() && view.data() + view.size() <= whole.data() + whole.size());
  if (view.empty()) return;
  pieces_.push_back({.owned = kBacking,
                     .offset = static_cast<size_t>(view.data() - whole.data()),
                     .size = view.size()});
  ends_.push_back(size() + view.size());
}

void MailPieces::AppendBase64Of(std::string head, absl::string_view view, std::string tail) {
  const absl::string_view whole = backing();
  assert(view.empty() ||
         (view.data() >= whole.data() && view.data() + view.size() <= whole.data() + whole.size()));
  Base64Source source;
  for (std::string* text : {&head, static_cast<std::string*>(nullptr), &tail}) {
    if (text == nullptr) {
      if (view.empty()) continue;
      source.pieces.push_back({.owned = kBacking,
                               .offset = static_cast<size_t>(view.data() - whole.data()),
                               .size = view.size()});
    } else {
      if (text->empty()) continue;
      const size_t size = text->size();
      owned_.push_back(std::move(*text));
      source.pieces.push_back({.owned = owned_.size() - 1, .offset = 0, .size = size});
    }
    source.bytes += source.pieces.back().size;
  }
  const size_t size = Base64EncodedSize(source.bytes);
  if (size == 0) return;
  base64_.push_back(std::move(source));
  pieces_.push_back({.owned = kBase64, .offset = base64_.size() - 1, .size = size});
  ends_.push_back(this->size() + size);
}

bool MailPieces::ReleaseBacking() {
  for (const Piece& piece : pieces_) {
    if (piece.owned == kBacking) return false;
  }
  for (const Base64Source& source : base64_) {
    for (const Piece& piece : source.pieces) {
      if (piece.owned == kBacking) return false;
    }
  }
  std::string().swap(owned_backing_);
  borrowed_view_ = {};
  borrowed_ = false;
  return true;
}

absl::string_view MailPieces::TextOf(const Piece& piece) const {
  assert(piece.owned != kBase64);
  const absl::string_view text =
      piece.owned == kBacking ? backing() : absl::string_view(owned_[piece.owned]);
  return text.substr(piece.offset, piece.size);
}

absl::string_view MailPieces::piece(size_t i) const { return TextOf(pieces_[i]); }

size_t MailPieces::held_bytes() const {
  size_t held = borrowed_ ? 0 : owned_backing_.capacity();
  for (const std::string& text : owned_) held += text.capacity();
  return held;
}

void MailPieces::CopyTo(size_t pos, size_t n, std::string* out) const {
  out->clear();
  if (pos >= size()) return;
  n = std::min(n, size() - pos);
  out->reserve(n);
  AppendRange(pos, n, out);
}

void MailPieces::AppendRange(size_t pos, size_t n, std::string* out) const {
  // The first piece that ends after `pos`.
  size_t i = static_cast<size_t>(std::upper_bound(ends_.begin(), ends_.end(), pos) - ends_.begin());
  for (; n > 0; ++i) {
    const size_t begin = ends_[i] - pieces_[i].size;
    const size_t take = std::min(n, ends_[i] - pos);
    if (pieces_[i].owned == kBase64) {
      AppendBase64Range(base64_[pieces_[i].offset], pos - begin, take, out);
    } else {
      const absl::string_view text = piece(i).substr(pos - begin, take);
      out->append(text.data(), text.size());
    }
    pos += take;
    n -= take;
  }
}

void MailPieces::AppendBase64Range(const Base64Source& source, size_t pos, size_t n,
                                   std::string* out) const {
  // Every full line is 57 bytes as 76 characters and CRLF, so the lines
  // that hold the range are encoded from their own bytes alone, a group
  // of lines at a time, and the range cut out of them.
  using base64_internal::kBytesPerLine;
  // A line's characters and its CRLF.
  constexpr size_t kCharsPerLine = base64_internal::kCharsPerLine + 2;
  constexpr size_t kLinesPerGroup = 256;
  std::string gathered;
  std::string encoded;
  const size_t end = pos + n;
  size_t line = pos / kCharsPerLine;
  while (pos < end) {
    const size_t lines = std::min(kLinesPerGroup, (end - 1) / kCharsPerLine - line + 1);
    const size_t in_begin = line * kBytesPerLine;
    const size_t in_end = std::min(source.bytes, (line + lines) * kBytesPerLine);
    // The group's bytes: a view when they lie in one source piece, else
    // gathered across its joins.
    absl::string_view input;
    gathered.clear();
    size_t piece_begin = 0;
    for (const Piece& piece : source.pieces) {
      const size_t piece_end = piece_begin + piece.size;
      if (piece_end > in_begin && piece_begin < in_end) {
        const size_t from = std::max(in_begin, piece_begin);
        const size_t to = std::min(in_end, piece_end);
        const absl::string_view text = TextOf(piece).substr(from - piece_begin, to - from);
        if (from == in_begin && to == in_end) {
          input = text;
        } else {
          gathered.append(text.data(), text.size());
          input = gathered;
        }
      }
      piece_begin = piece_end;
    }
    encoded.clear();
    AppendBase64(input, &encoded);
    const size_t from = pos - line * kCharsPerLine;
    const size_t take = std::min(encoded.size() - from, end - pos);
    out->append(encoded, from, take);
    pos += take;
    line += lines;
  }
}

std::string MailPieces::Flatten() && {
  std::string out;
  if (pieces_.size() == 1 && pieces_[0].owned != kBacking && pieces_[0].owned != kBase64) {
    out = std::move(owned_[0]);
  } else if (pieces_.size() == 1 && pieces_[0].owned == kBacking && !borrowed_) {
    // A slice of the owned backing: moved to its front where it lies.
    const Piece& piece = pieces_[0];
    if (piece.offset != 0) {
      std::memmove(owned_backing_.data(), owned_backing_.data() + piece.offset, piece.size);
    }
    owned_backing_.resize(piece.size);
    out = std::move(owned_backing_);
  } else {
    ReserveLarge(&out, size());
    AppendRange(0, size(), &out);
  }
  *this = MailPieces();
  return out;
}

bool JoinedContains(absl::Span<const absl::string_view> texts, absl::string_view needle) {
  if (needle.empty()) return true;
  // The last needle.size() - 1 bytes seen so far: a match that straddles a
  // join starts among them.
  std::string carry;
  for (const absl::string_view text : texts) {
    if (absl::StrContains(text, needle)) return true;
    if (!carry.empty()) {
      const std::string seam = absl::StrCat(carry, text.substr(0, needle.size() - 1));
      if (absl::StrContains(seam, needle)) return true;
    }
    if (text.size() >= needle.size() - 1) {
      carry = std::string(text.substr(text.size() - (needle.size() - 1)));
    } else {
      absl::StrAppend(&carry, text);
      if (carry.size() > needle.size() - 1) carry.erase(0, carry.size() - (needle.size() - 1));
    }
  }
  return false;
}

}  // namespace signet::cms
