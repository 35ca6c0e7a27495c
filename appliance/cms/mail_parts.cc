#include "appliance/cms/mail_parts.h"

#include <cstdint>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "appliance/cms/mime.h"
#include "common/status_macros.h"

namespace signet::cms {
namespace {

bool IsContentField(absl::string_view name) { return absl::StartsWithIgnoreCase(name, "Content-"); }

// Whether any byte of `line` is NUL, above 127 or CR: eight at a time,
// since a large body is mostly such runs.
bool HasNulHighOrCr(absl::string_view line) {
  constexpr std::uint64_t kOnes = 0x0101010101010101;
  constexpr std::uint64_t kHighs = 0x8080808080808080;
  auto has_zero = [](std::uint64_t w) { return ((w - kOnes) & ~w & kHighs) != 0; };
  std::size_t i = 0;
  for (; i + 8 <= line.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, line.data() + i, sizeof w);
    if ((w & kHighs) != 0 || has_zero(w) || has_zero(w ^ (kOnes * '\r'))) return true;
  }
  for (; i < line.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(line[i]);
    if (c == 0 || c > 127 || c == '\r') return true;
  }
  return false;
}

// Whether a body can travel through any relay unchanged (RFC 5322 §2.1.1,
// RFC 2045 §2.7): no byte above 127, no NUL, CR only before LF, no line
// longer than 998 characters. A line at a time, not a byte.
bool IsSevenBitSafe(absl::string_view body) {
  std::size_t pos = 0;
  while (pos < body.size()) {
    const std::size_t lf = body.find('\n', pos);
    const bool last = lf == absl::string_view::npos;
    std::size_t end = last ? body.size() : lf;
    // The CR of a CRLF is the line break's, not the line's.
    if (!last && end > pos && body[end - 1] == '\r') --end;
    if (end - pos > 998 || HasNulHighOrCr(body.substr(pos, end - pos))) return false;
    if (last) break;
    pos = lf + 1;
  }
  return true;
}

}  // namespace

absl::Status CheckMessageSize(absl::string_view input, const Limits& limits) {
  if (input.size() > limits.max_message_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("the message is ", input.size(),
                                                   " bytes, over the limit of ",
                                                   limits.max_message_bytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::StatusOr<MailParts> SplitMail(absl::string_view mail, const Limits& limits) {
  RETURN_IF_ERROR(CheckMessageSize(mail, limits));
  ASSIGN_OR_RETURN(MimeEntity parsed, ParseEntity(mail, limits));
  ASSIGN_OR_RETURN(ContentType type, ContentTypeOf(parsed));

  MailParts parts;
  std::string content_fields;
  for (const HeaderField& field : parsed.headers) {
    if (absl::EqualsIgnoreCase(field.name, "MIME-Version")) continue;
    if (IsContentField(field.name)) {
      absl::StrAppend(&content_fields, field.raw);
    } else {
      absl::StrAppend(&parts.outer_headers, field.raw);
    }
  }
  if (parsed.Find("Content-Type") == nullptr) {
    content_fields.insert(0, "Content-Type: text/plain; charset=us-ascii\r\n");
  }
  parts.outer_headers = ToCrlf(parts.outer_headers);

  const bool leaf = type.type != "multipart" && type.type != "message";
  if (leaf && !IsSevenBitSafe(parsed.body)) {
    // The canonical form is what the recipient's client decodes and shows;
    // base64 keeps it intact on the way.
    std::string fields;
    for (const HeaderField& field : parsed.headers) {
      if (IsContentField(field.name) &&
          !absl::EqualsIgnoreCase(field.name, "Content-Transfer-Encoding")) {
        absl::StrAppend(&fields, field.raw);
      }
    }
    if (parsed.Find("Content-Type") == nullptr) {
      fields.insert(0, "Content-Type: text/plain; charset=us-ascii\r\n");
    }
    AppendCrlf(fields, &parts.entity);
    parts.entity.append("Content-Transfer-Encoding: base64\r\n\r\n");
    if (type.type == "text") {
      AppendBase64(ToCrlf(parsed.body), &parts.entity);
    } else {
      AppendBase64(parsed.body, &parts.entity);
    }
  } else {
    // Straight into the entity, no joined copy of the body first: the same
    // bytes as the CRLF form of fields, "\r\n" and body joined, since no
    // line break can straddle either seam.
    AppendCrlf(content_fields, &parts.entity);
    parts.entity.append("\r\n");
    AppendCrlf(parsed.body, &parts.entity);
  }
  RETURN_IF_ERROR(CheckMimeStructure(parts.entity, limits));
  return parts;
}

std::string JoinMail(absl::string_view outer_headers, absl::string_view entity) {
  return absl::StrCat(outer_headers, "MIME-Version: 1.0\r\n", entity);
}

}  // namespace signet::cms
