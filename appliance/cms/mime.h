// The small part of MIME (RFC 2045/2046, RFC 5322 header syntax) that S/MIME
// needs: a header block and a body, Content-Type with its parameters,
// multipart bodies split at their boundaries with the parts' exact bytes, a
// bounded walk of the nesting, CRLF canonical form and base64.
//
// Hand-written rather than taken from GMime: a signature covers the exact
// bytes of the signed part, which these functions return as views into the
// input (nothing is re-serialized); every limit is checked before anything
// recursive runs; and the daemon keeps GLib/GObject out of its address space.
// The code is small, unit-tested and fuzzed (appliance/cms/fuzz).
//
// All views returned point into the caller's text, which must outlive them.
#ifndef SIGNET_APPLIANCE_CMS_MIME_H_
#define SIGNET_APPLIANCE_CMS_MIME_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "appliance/cms/limits.h"

namespace signet::cms {

struct HeaderField {
  // As written (case kept); compare with absl::EqualsIgnoreCase.
  std::string name;
  // Unfolded (each line break inside the field removed, the whitespace after
  // it kept), leading and trailing whitespace removed.
  std::string value;
  // The field's exact bytes, folded lines and the final line break included.
  absl::string_view raw;
};

struct MimeEntity {
  std::vector<HeaderField> headers;
  // The header fields' exact bytes, without the empty line that ends them.
  absl::string_view header_block;
  // Everything after the empty line (CRLF or LF) that ends the headers.
  absl::string_view body;

  // The first field with this name (case-insensitive), or null.
  const HeaderField* Find(absl::string_view name) const;
};

// Splits text at the first empty line into header fields and body. Lines
// may end in CRLF or LF. A text that starts with an empty line has no
// headers; a text without an empty line is all headers and has an empty
// body. InvalidArgument for a line that is neither a field ("name: value",
// name of printable ASCII without ':') nor a continuation (starting with
// space or tab after a field), and for more than limits.max_header_fields
// fields.
absl::StatusOr<MimeEntity> ParseEntity(absl::string_view text, const Limits& limits);

struct ContentType {
  std::string type;     // lower case: "multipart"
  std::string subtype;  // lower case: "signed"
  // Names lower case, values with quotes and backslash escapes removed, in
  // the order written.
  std::vector<std::pair<std::string, std::string>> params;

  bool Is(absl::string_view type_name, absl::string_view subtype_name) const;
  // The first parameter of this name (case-insensitive).
  std::optional<std::string> Param(absl::string_view name) const;
};

// Parses a Content-Type field value: "type/subtype *(; name=value)" with
// tokens or quoted strings as values and (comments) skipped.
// InvalidArgument for anything else.
absl::StatusOr<ContentType> ParseContentType(absl::string_view value);

// The entity's Content-Type, or text/plain; charset=us-ascii when it has
// none (RFC 2045 §5.2).
absl::StatusOr<ContentType> ContentTypeOf(const MimeEntity& entity);

struct Multipart {
  absl::string_view preamble;
  // Each part's exact bytes: from just after the line break that ends its
  // opening delimiter line to just before the line break that precedes the
  // next delimiter (that line break belongs to the delimiter, RFC 2046
  // §5.1.1).
  std::vector<absl::string_view> parts;
  absl::string_view epilogue;
};

// Splits a multipart body at "--boundary" delimiter lines (transport padding
// after the boundary allowed). InvalidArgument for an invalid boundary (empty,
// longer than 70 characters), no opening delimiter, no closing
// "--boundary--" delimiter, or more than limits.max_parts parts.
absl::StatusOr<Multipart> SplitMultipart(absl::string_view body, absl::string_view boundary,
                                         const Limits& limits);

// Walks the entity's tree of multiparts and message/rfc822 bodies, parsing
// every header block and splitting every multipart on the way.
// InvalidArgument "MIME nesting deeper than N" as soon as a level deeper than
// limits.max_mime_depth is reached, and any error of the parsers above.
absl::Status CheckMimeStructure(absl::string_view entity, const Limits& limits);
// The same for the entity `head` + `body` without joining them (its body
// lying elsewhere, e.g. in the mail it came in); `head` holds the header
// fields and ends with the empty line after them, else InvalidArgument.
absl::Status CheckMimeStructure(absl::string_view head, absl::string_view body,
                                const Limits& limits);

// Every line break (LF or CRLF) as CRLF: the canonical form a signature is
// computed over (RFC 8551 §3.1.1). A CR not followed by LF is kept as is.
std::string ToCrlf(absl::string_view text);
// How many LF bytes `text` holds (CRLF or not): a bound on what ToCrlf adds.
std::size_t CountLineFeeds(absl::string_view text);
// How many LF bytes `text` holds without a CR right before them: exactly
// what ToCrlf adds.
std::size_t CountBareLineFeeds(absl::string_view text);
// The same, appended to `out` (no temporary copy).
void AppendCrlf(absl::string_view text, std::string* out);

// Base64 in lines of 76 characters, each ended by CRLF (RFC 2045 §6.8).
std::string Base64Encode(absl::string_view data);
// The size of Base64Encode's result for `size` bytes.
std::size_t Base64EncodedSize(std::size_t size);
// The same, appended to `out`.
void AppendBase64(absl::string_view data, std::string* out);

// Decodes base64, ignoring spaces, tabs, CR and LF. InvalidArgument for any
// other character outside the alphabet, or wrong padding.
absl::StatusOr<std::string> Base64Decode(absl::string_view text);
// Base64Decode written at `out` (room for Base64DecodedBound(text.size())
// bytes); returns how many bytes it wrote. `out` may be text.data()
// itself, or lie before it: the decoded bytes then replace the text they
// came from (a large body decoded where it lies, without a second
// buffer). On an error the bytes at `out` are undefined, the text with
// them when they overlap.
absl::StatusOr<std::size_t> Base64DecodeInto(absl::string_view text, char* out);
// Room enough for the bytes `size` characters of base64 decode to.
std::size_t Base64DecodedBound(std::size_t size);

}  // namespace signet::cms

#endif  // SIGNET_APPLIANCE_CMS_MIME_H_
