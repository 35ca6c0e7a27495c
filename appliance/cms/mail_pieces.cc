#include "appliance/cms/mail_pieces.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
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

bool MailPieces::ReleaseBacking() {
  for (const Piece& piece : pieces_) {
    if (piece.owned == kBacking) return false;
  }
  std::string().swap(owned_backing_);
  borrowed_view_ = {};
  borrowed_ = false;
  return true;
}

absl::string_view MailPieces::piece(size_t i) const {
  const Piece& piece = pieces_[i];
  const absl::string_view text =
      piece.owned == kBacking ? backing() : absl::string_view(owned_[piece.owned]);
  return text.substr(piece.offset, piece.size);
}

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
  // The first piece that ends after `pos`.
  size_t i = static_cast<size_t>(std::upper_bound(ends_.begin(), ends_.end(), pos) - ends_.begin());
  for (; n > 0; ++i) {
    const size_t begin = ends_[i] - pieces_[i].size;
    const absl::string_view text = piece(i).substr(pos - begin, n);
    out->append(text.data(), text.size());
    pos += text.size();
    n -= text.size();
  }
}

std::string MailPieces::Flatten() && {
  std::string out;
  if (pieces_.size() == 1 && pieces_[0].owned != kBacking) {
    out = std::move(owned_[0]);
  } else if (pieces_.size() == 1 && !borrowed_) {
    // A slice of the owned backing: moved to its front where it lies.
    const Piece& piece = pieces_[0];
    if (piece.offset != 0) {
      std::memmove(owned_backing_.data(), owned_backing_.data() + piece.offset, piece.size);
    }
    owned_backing_.resize(piece.size);
    out = std::move(owned_backing_);
  } else {
    ReserveLarge(&out, size());
    for (size_t i = 0; i < pieces_.size(); ++i) {
      const absl::string_view text = piece(i);
      out.append(text.data(), text.size());
    }
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
