// A large result made of small texts of its own and spans of a mail it
// keeps, instead of one string that copies the mail: a signed
// multipart/signed mail is its head, the mail's body where it lies and the
// signature part; a verified entity is a slice of the mail it came in.
// signetd writes such a result out a chunk at a time from the pieces, so a
// call holds the mail once, not the mail and its result.
//
// The mail (the "backing") is either owned (given by move) or borrowed (a
// view the caller keeps alive and unchanged while the pieces are used).
// Pieces are kept as offsets, not pointers: a small owned string moves its
// characters when it moves.
#ifndef SIGNET_APPLIANCE_CMS_MAIL_PIECES_H_
#define SIGNET_APPLIANCE_CMS_MAIL_PIECES_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace signet::cms {

class MailPieces {
 public:
  // No backing, no pieces.
  MailPieces() = default;
  MailPieces(MailPieces&&) = default;
  MailPieces& operator=(MailPieces&&) = default;
  MailPieces(const MailPieces&) = delete;
  MailPieces& operator=(const MailPieces&) = delete;

  // Pieces to come over `backing`, which they own.
  static MailPieces Over(std::string backing);
  // Pieces to come over `backing`, which the caller keeps.
  static MailPieces Borrowing(absl::string_view backing);
  // `text` as the one piece.
  static MailPieces Of(std::string text);

  absl::string_view backing() const { return borrowed_ ? borrowed_view_ : owned_backing_; }

  // Appends `text` as a piece of its own.
  void AppendOwned(std::string text);
  // Appends backing()[offset, offset + size) as a piece; `view` must lie
  // within backing().
  void AppendBacking(absl::string_view view);
  // Appends, as one piece, `head`, `view` (within backing(), or empty) and
  // `tail` joined, in base64 as AppendBase64 writes it (lines of 76
  // characters, each ended by CRLF), encoded only as CopyTo reads it: a CMS
  // structure whose bulk lies in the backing (EncryptOwnedMail's
  // ciphertext) goes out without a base64 copy of it beside the backing.
  void AppendBase64Of(std::string head, absl::string_view view, std::string tail);
  // Frees an owned backing, or forgets a borrowed one, once no piece uses
  // it (no AppendBacking yet); false, nothing done, otherwise.
  bool ReleaseBacking();

  // The pieces' bytes in total.
  size_t size() const { return ends_.empty() ? 0 : ends_.back(); }
  bool empty() const { return size() == 0; }
  size_t piece_count() const { return pieces_.size(); }
  // Piece `i`, valid until the next Append or move; not a base64 piece
  // (which has no text until encoded: read it with CopyTo).
  absl::string_view piece(size_t i) const;
  // What this holds in memory: an owned backing's capacity and the owned
  // pieces' (a borrowed backing is the caller's).
  size_t held_bytes() const;

  // Sets `out` to bytes [pos, pos + n) of the whole (clipped at its end).
  void CopyTo(size_t pos, size_t n, std::string* out) const;
  // The whole as one string: moved out when it is one owned piece (or the
  // whole owned backing), copied otherwise. Leaves this empty.
  std::string Flatten() &&;

 private:
  struct Piece {
    // Index into owned_, or kBacking; for a base64 piece, kBase64.
    size_t owned;
    // A base64 piece: the index into base64_.
    size_t offset;
    size_t size;
  };
  static constexpr size_t kBacking = ~size_t{0};
  static constexpr size_t kBase64 = ~size_t{0} - 1;

  struct Base64Source {
    // Owned or backing pieces, joined.
    std::vector<Piece> pieces;
    size_t bytes = 0;
  };

  // An owned or backing piece's text.
  absl::string_view TextOf(const Piece& piece) const;
  // Appends bytes [pos, pos + n) of the whole, which it holds, to `out`.
  void AppendRange(size_t pos, size_t n, std::string* out) const;
  // Appends characters [pos, pos + n) of a base64 piece's text to `out`.
  void AppendBase64Range(const Base64Source& source, size_t pos, size_t n, std::string* out) const;

  std::string owned_backing_;
  absl::string_view borrowed_view_;
  bool borrowed_ = false;
  std::vector<std::string> owned_;
  std::vector<Piece> pieces_;
  std::vector<Base64Source> base64_;
  // ends_[i]: where piece i ends in the whole.
  std::vector<size_t> ends_;
};

// Whether `needle` (not empty) occurs in the texts joined, including across
// the joins between them, without joining them.
bool JoinedContains(absl::Span<const absl::string_view> texts, absl::string_view needle);

}  // namespace signet::cms

#endif  // SIGNET_APPLIANCE_CMS_MAIL_PIECES_H_
