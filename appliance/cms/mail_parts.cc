#include "appliance/cms/mail_parts.h"

#include <cstdint>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "appliance/cms/mime.h"
#include "common/huge_pages.h"
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
// longer than 998 characters. A line at a time, not a byte. Counts the line
// feeds without a CR before them into `bare_line_feeds` (meaningful when
// the body is safe).
bool IsSevenBitSafe(absl::string_view body, std::size_t* bare_line_feeds) {
  std::size_t pos = 0;
  std::size_t bare = 0;
  while (pos < body.size()) {
    const std::size_t lf = body.find('\n', pos);
    const bool last = lf == absl::string_view::npos;
    std::size_t end = last ? body.size() : lf;
    // The CR of a CRLF is the line break's, not the line's. (An empty line's
    // LF follows the previous LF, or starts the body: bare, as AppendCrlf
    // counts it.)
    if (!last && end > pos && body[end - 1] == '\r') {
      --end;
    } else if (!last) {
      ++bare;
    }
    if (end - pos > 998 || HasNulHighOrCr(body.substr(pos, end - pos))) return false;
    if (last) break;
    pos = lf + 1;
  }
  *bare_line_feeds = bare;
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

absl::StatusOr<SplitPlan> PlanSplit(absl::string_view mail, const Limits& limits) {
  RETURN_IF_ERROR(CheckMessageSize(mail, limits));
  ASSIGN_OR_RETURN(MimeEntity parsed, ParseEntity(mail, limits));
  ASSIGN_OR_RETURN(ContentType type, ContentTypeOf(parsed));

  SplitPlan plan;
  std::string outer_headers;
  std::string content_fields;
  for (const HeaderField& field : parsed.headers) {
    if (absl::EqualsIgnoreCase(field.name, "MIME-Version")) continue;
    if (IsContentField(field.name)) {
      absl::StrAppend(&content_fields, field.raw);
    } else {
      absl::StrAppend(&outer_headers, field.raw);
    }
  }
  if (parsed.Find("Content-Type") == nullptr) {
    content_fields.insert(0, "Content-Type: text/plain; charset=us-ascii\r\n");
  }
  plan.outer_headers = ToCrlf(outer_headers);
  plan.body = parsed.body;

  const bool leaf = type.type != "multipart" && type.type != "message";
  std::size_t bare_line_feeds = 0;
  const bool safe = !leaf || IsSevenBitSafe(parsed.body, &bare_line_feeds);
  if (leaf && safe) plan.bare_line_feeds = bare_line_feeds;
  if (!safe) {
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
    AppendCrlf(fields, &plan.entity_head);
    plan.entity_head.append("Content-Transfer-Encoding: base64\r\n\r\n");
    plan.body_form =
        type.type == "text" ? SplitPlan::BodyForm::kBase64Text : SplitPlan::BodyForm::kBase64;
  } else {
    // The same bytes as the CRLF form of fields, "\r\n" and body joined,
    // since no line break can straddle either seam.
    AppendCrlf(content_fields, &plan.entity_head);
    plan.entity_head.append("\r\n");
  }
  return plan;
}

size_t EntitySizeBound(const SplitPlan& plan) {
  switch (plan.body_form) {
    case SplitPlan::BodyForm::kAsIs:
      return plan.entity_head.size() + plan.body.size() +
             (plan.bare_line_feeds.has_value() ? *plan.bare_line_feeds : CountLineFeeds(plan.body));
    case SplitPlan::BodyForm::kBase64:
      return plan.entity_head.size() + Base64EncodedSize(plan.body.size());
    case SplitPlan::BodyForm::kBase64Text:
      break;
  }
  return plan.entity_head.size() + Base64EncodedSize(plan.body.size() + CountLineFeeds(plan.body));
}

absl::Status AppendEntity(const SplitPlan& plan, const Limits& limits, std::string* out) {
  const size_t begin = out->size();
  out->append(plan.entity_head);
  switch (plan.body_form) {
    case SplitPlan::BodyForm::kAsIs:
      if (plan.bare_line_feeds == 0) {
        // Already canonical: one copy, no scan.
        ReserveLarge(out, out->size() + plan.body.size());
        out->append(plan.body.data(), plan.body.size());
      } else {
        AppendCrlf(plan.body, out);
      }
      break;
    case SplitPlan::BodyForm::kBase64:
      AppendBase64(plan.body, out);
      break;
    case SplitPlan::BodyForm::kBase64Text:
      AppendBase64(ToCrlf(plan.body), out);
      break;
  }
  return CheckMimeStructure(absl::string_view(*out).substr(begin), limits);
}

absl::StatusOr<MailParts> SplitMail(absl::string_view mail, const Limits& limits) {
  ASSIGN_OR_RETURN(SplitPlan plan, PlanSplit(mail, limits));
  MailParts parts;
  RETURN_IF_ERROR(AppendEntity(plan, limits, &parts.entity));
  parts.outer_headers = std::move(plan.outer_headers);
  return parts;
}

void AppendMailHead(absl::string_view outer_headers, std::string* out) {
  out->append(outer_headers.data(), outer_headers.size());
  out->append("MIME-Version: 1.0\r\n");
}

std::string JoinMail(absl::string_view outer_headers, absl::string_view entity) {
  return absl::StrCat(outer_headers, "MIME-Version: 1.0\r\n", entity);
}

}  // namespace signet::cms
