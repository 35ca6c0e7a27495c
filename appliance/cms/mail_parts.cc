#include "appliance/cms/mail_parts.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "appliance/cms/mime.h"
#include "common/status_macros.h"

namespace signet::cms {
namespace {

bool IsContentField(absl::string_view name) { return absl::StartsWithIgnoreCase(name, "Content-"); }

// Whether a body can travel through any relay unchanged (RFC 5322 §2.1.1,
// RFC 2045 §2.7): no byte above 127, no NUL, CR only before LF, no line
// longer than 998 characters.
bool IsSevenBitSafe(absl::string_view body) {
  size_t line_length = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(body[i]);
    if (c == 0 || c > 127) return false;
    if (c == '\r') {
      if (i + 1 >= body.size() || body[i + 1] != '\n') return false;
      continue;
    }
    if (c == '\n') {
      line_length = 0;
      continue;
    }
    if (++line_length > 998) return false;
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
    const std::string body = type.type == "text" ? ToCrlf(parsed.body) : std::string(parsed.body);
    parts.entity = absl::StrCat(ToCrlf(fields), "Content-Transfer-Encoding: base64\r\n\r\n",
                                Base64Encode(body));
  } else {
    parts.entity = ToCrlf(absl::StrCat(content_fields, "\r\n", parsed.body));
  }
  RETURN_IF_ERROR(CheckMimeStructure(parts.entity, limits));
  return parts;
}

std::string JoinMail(absl::string_view outer_headers, absl::string_view entity) {
  return absl::StrCat(outer_headers, "MIME-Version: 1.0\r\n", entity);
}

}  // namespace signet::cms
