#include "appliance/cms/mail_parts.h"

#include <cstdint>
#include <cstring>
#include <utility>

#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "appliance/cms/base64_internal.h"
#include "appliance/cms/mime.h"
#include "common/huge_pages.h"
#include "common/status_macros.h"

namespace signet::cms {
namespace {

bool IsContentField(absl::string_view name) { return absl::StartsWithIgnoreCase(name, "Content-"); }

// IsSevenBitSafe's state between blocks of the body.
class SevenBitScan {
 public:
  static constexpr std::size_t kMaxLine = 998;

  // One block of `kWidth` bytes at `base`, given as bit masks (bit i: byte
  // base + i) of its LFs and CRs; false where the body is not safe. Bytes
  // above 127 and NULs are the caller's to check.
  template <int kWidth, typename Mask>
  bool Block(std::size_t base, Mask feeds, Mask returns) {
    constexpr Mask kAllButLast = (Mask{1} << (kWidth - 1)) - 1;
    // Every CR is followed by a LF: in this block, or (the last byte's) in
    // the next.
    if (after_return_ && (feeds & 1) == 0) return false;
    if ((returns & ~(feeds >> 1) & kAllButLast) != 0) return false;
    for (Mask rest = feeds; rest != 0; rest &= rest - 1) {
      const auto bit = static_cast<unsigned>(__builtin_ctzll(rest));
      const bool crlf = bit == 0 ? after_return_ : ((returns >> (bit - 1)) & 1) != 0;
      if (!LineFeed(base + bit, crlf)) return false;
    }
    after_return_ = (returns >> (kWidth - 1)) != 0;
    return true;
  }

  // One byte at `at`, `c`.
  bool Byte(std::size_t at, unsigned char c) {
    if (c == 0 || c > 127 || (after_return_ && c != '\n')) return false;
    if (c == '\n' && !LineFeed(at, after_return_)) return false;
    after_return_ = c == '\r';
    return true;
  }

  // After the last byte: a CR at the very end precedes no LF, and the last
  // line has none.
  bool End(std::size_t size) const { return !after_return_ && size - line_start_ <= kMaxLine; }

  std::size_t bare_line_feeds() const { return bare_; }

 private:
  // A line feed at `at`: the line before it, less the CR of a CRLF.
  bool LineFeed(std::size_t at, bool crlf) {
    bare_ += crlf ? 0 : 1;
    const std::size_t length = at - line_start_ - (crlf ? 1 : 0);
    line_start_ = at + 1;
    return length <= kMaxLine;
  }

  std::size_t bare_ = 0;
  std::size_t line_start_ = 0;
  bool after_return_ = false;  // the byte before is a CR
};

#if defined(__x86_64__)
// IsSevenBitSafe's 32-byte blocks with AVX2; sets `*done` to the bytes
// scanned, false where the body is not safe.
__attribute__((target("avx2"))) bool SevenBitBlocksAvx2(absl::string_view body, SevenBitScan& scan,
                                                        std::size_t* done) {
  const __m256i zero = _mm256_setzero_si256();
  const __m256i lf = _mm256_set1_epi8('\n');
  const __m256i cr = _mm256_set1_epi8('\r');
  std::size_t i = 0;
  for (; i + 32 <= body.size(); i += 32) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(body.data() + i));
    // Bytes above 127 have their sign bit set.
    if ((_mm256_movemask_epi8(v) | _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, zero))) != 0) {
      return false;
    }
    const auto feeds = static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, lf)));
    const auto returns = static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, cr)));
    if (!scan.Block<32>(i, feeds, returns)) return false;
  }
  *done = i;
  return true;
}
#endif

// Whether a body can travel through any relay unchanged (RFC 5322 §2.1.1,
// RFC 2045 §2.7): no byte above 127, no NUL, CR only before LF, no line
// longer than 998 characters (its CRLF or LF not counted). Counts the line
// feeds without a CR before them into `bare_line_feeds` (meaningful when
// the body is safe).
//
// One pass, 32 bytes at a time with AVX2, else sixteen with SSE2 (every
// x86-64): a block is looked at byte by byte only at its line feeds, about
// one in every line, so a large body is checked at memory speed.
bool IsSevenBitSafe(absl::string_view body, std::size_t* bare_line_feeds) {
  const char* const data = body.data();
  const std::size_t size = body.size();
  SevenBitScan scan;
  std::size_t i = 0;
#if defined(__x86_64__)
  if (base64_internal::CpuHasAvx2() && !SevenBitBlocksAvx2(body, scan, &i)) {
    return false;
  }
#endif
#if defined(__SSE2__)
  const __m128i zero = _mm_setzero_si128();
  const __m128i lf = _mm_set1_epi8('\n');
  const __m128i cr = _mm_set1_epi8('\r');
  for (; i + 16 <= size; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + i));
    // Bytes above 127 have their sign bit set.
    if (_mm_movemask_epi8(v) != 0 || _mm_movemask_epi8(_mm_cmpeq_epi8(v, zero)) != 0) {
      return false;
    }
    const auto feeds = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, lf)));
    const auto returns = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, cr)));
    if (!scan.Block<16>(i, feeds, returns)) return false;
  }
#endif
  for (; i < size; ++i) {
    if (!scan.Byte(i, static_cast<unsigned char>(data[i]))) return false;
  }
  if (!scan.End(size)) return false;
  *bare_line_feeds = scan.bare_line_feeds();
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

bool BodyIsCanonical(SplitPlan* plan) {
  if (plan->body_form != SplitPlan::BodyForm::kAsIs) return false;
  if (!plan->bare_line_feeds.has_value()) plan->bare_line_feeds = CountBareLineFeeds(plan->body);
  return plan->bare_line_feeds == 0;
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
