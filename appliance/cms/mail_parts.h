// An RFC 5322 mail taken apart for S/MIME and put back together: the fields
// about the message (From, To, Subject, Date, Message-ID, Received...) stay
// outside, while the Content-* fields and the body become the MIME entity
// that is signed or encrypted (RFC 8551 §3.1).
#ifndef SIGNET_APPLIANCE_CMS_MAIL_PARTS_H_
#define SIGNET_APPLIANCE_CMS_MAIL_PARTS_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "appliance/cms/limits.h"

namespace signet::cms {

struct MailParts {
  // The message's own header fields, exactly as they were apart from line
  // endings (CRLF), in their order; MIME-Version is left out (JoinMail writes
  // it).
  std::string outer_headers;
  // The Content-* fields, an empty line and the body, in canonical form
  // (CRLF). A leaf body that is not 7-bit safe (8-bit bytes, NUL, a lone CR,
  // or lines over 998 characters) is re-encoded as base64 so that no relay
  // can alter the signed bytes (RFC 8551 §3.1.2). Without a Content-Type
  // field the entity gets "text/plain; charset=us-ascii", MIME's default,
  // written out.
  std::string entity;
};

// Takes a mail (or a bare MIME entity, which then has no outer fields)
// apart. InvalidArgument when it is larger than limits.max_message_bytes,
// when its header block does not parse, or when its MIME structure is
// deeper than the limits allow.
absl::StatusOr<MailParts> SplitMail(absl::string_view mail, const Limits& limits);

// SplitMail in two steps, for a caller that writes the entity straight into
// its own output, so that a large mail is copied once, not twice:
// PlanSplit parses the header block and decides the entity's form;
// AppendEntity writes the entity.
struct SplitPlan {
  enum class BodyForm { kAsIs, kBase64, kBase64Text };
  // As MailParts::outer_headers.
  std::string outer_headers;
  // The entity's header fields and the empty line after them (CRLF).
  std::string entity_head;
  // The mail's body (a view into the mail), written in canonical form as
  // it is (kAsIs) or in base64, after canonicalisation for text.
  absl::string_view body;
  BodyForm body_form = BodyForm::kAsIs;
  // kAsIs leaf bodies: the line feeds without a CR before them (each gets
  // one), counted by the 7-bit check, so that neither the size bound nor
  // the writing scans the body again; a body without any is copied whole.
  // Unset: not counted (multipart bodies).
  std::optional<size_t> bare_line_feeds;
};

absl::StatusOr<SplitPlan> PlanSplit(absl::string_view mail, const Limits& limits);

// Whether the entity is plan.entity_head followed by plan.body exactly as
// it lies in the mail (kAsIs, and no bare line feed), so that a caller can
// sign or encrypt it in those two pieces without writing it out. Counts a
// multipart body's bare line feeds into plan->bare_line_feeds if not yet
// counted (AppendEntity then need not count again).
bool BodyIsCanonical(SplitPlan* plan);

// At least the size of the entity AppendEntity writes (to reserve room).
size_t EntitySizeBound(const SplitPlan& plan);

// Appends the entity (MailParts::entity) to `out`, then checks its MIME
// structure as SplitMail does.
absl::Status AppendEntity(const SplitPlan& plan, const Limits& limits, std::string* out);

// outer_headers, "MIME-Version: 1.0", then the entity.
std::string JoinMail(absl::string_view outer_headers, absl::string_view entity);
// The part before the entity, appended to `out`.
void AppendMailHead(absl::string_view outer_headers, std::string* out);

// InvalidArgument naming both sizes when `input` is over the limit; checked
// first by every operation, before any parsing.
absl::Status CheckMessageSize(absl::string_view input, const Limits& limits);

}  // namespace signet::cms

#endif  // SIGNET_APPLIANCE_CMS_MAIL_PARTS_H_
