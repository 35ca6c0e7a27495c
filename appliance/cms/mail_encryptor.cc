#include "appliance/cms/mail_encryptor.h"

#include <utility>

#include "absl/types/span.h"
#include "appliance/cms/mail_parts.h"
#include "appliance/cms/mime.h"
#include "appliance/cms/smime_format.h"
#include "common/huge_pages.h"
#include "common/status_macros.h"

namespace signet::cms {
namespace {

SmimeType TypeOf(const EncryptOptions& options) {
  return IsAuthenticated(options.cipher) ? SmimeType::kAuthEnvelopedData
                                         : SmimeType::kEnvelopedData;
}

// The encrypted mail over `backing`, whose bytes [offset, offset + size)
// come between `entity_head` and `entity_tail` in the entity: those bytes
// are encrypted where they lie, and the result is the outer header fields,
// the application/pkcs7-mime entity's head and the base64 of the structure
// around them.
absl::StatusOr<MailPieces> EncryptOver(const CmsContext& context, std::string backing,
                                       size_t offset, size_t size, absl::string_view outer_headers,
                                       absl::string_view entity_head, absl::string_view entity_tail,
                                       const std::vector<X509*>& recipients,
                                       const EncryptOptions& options) {
  ASSIGN_OR_RETURN(
      EnvelopeAround around,
      EncryptInPlace(context, entity_head, absl::Span<char>(backing.data() + offset, size),
                     entity_tail, recipients, options));
  // Offsets, not views: a small string's characters move with it.
  MailPieces result = MailPieces::Over(std::move(backing));
  std::string head;
  AppendMailHead(outer_headers, &head);
  AppendPkcs7MimeHead(TypeOf(options), &head);
  result.AppendOwned(std::move(head));
  result.AppendBase64Of(std::move(around.prefix), result.backing().substr(offset, size),
                        std::move(around.suffix));
  return result;
}

}  // namespace

absl::StatusOr<std::string> EncryptMail(const CmsContext& context, absl::string_view mail,
                                        const std::vector<X509*>& recipients,
                                        const EncryptOptions& options) {
  RETURN_IF_ERROR(CheckMessageSize(mail, context.limits));
  // A copy to encrypt in place, no larger than the entity SplitMail wrote.
  return EncryptOwnedMail(context, std::string(mail), recipients, options);
}

absl::StatusOr<MailPieces> EncryptOwnedMailPieces(const CmsContext& context, std::string mail,
                                                  const std::vector<X509*>& recipients,
                                                  const EncryptOptions& options) {
  ASSIGN_OR_RETURN(SplitPlan plan, PlanSplit(mail, context.limits));
  if (BodyIsCanonical(&plan)) {
    // The entity is its head and the mail's body as it lies: checked and
    // encrypted in those two pieces, never joined.
    RETURN_IF_ERROR(CheckMimeStructure(plan.entity_head, plan.body, context.limits));
    const size_t offset = static_cast<size_t>(plan.body.data() - mail.data());
    const size_t size = plan.body.size();
    return EncryptOver(context, std::move(mail), offset, size, plan.outer_headers, plan.entity_head,
                       "", recipients, options);
  }
  std::string entity;
  ReserveLarge(&entity, EntitySizeBound(plan));
  RETURN_IF_ERROR(AppendEntity(plan, context.limits, &entity));
  std::string().swap(mail);
  const size_t size = entity.size();
  return EncryptOver(context, std::move(entity), 0, size, plan.outer_headers, "", "", recipients,
                     options);
}

absl::StatusOr<std::string> EncryptOwnedMail(const CmsContext& context, std::string mail,
                                             const std::vector<X509*>& recipients,
                                             const EncryptOptions& options) {
  ASSIGN_OR_RETURN(MailPieces pieces,
                   EncryptOwnedMailPieces(context, std::move(mail), recipients, options));
  return std::move(pieces).Flatten();
}

absl::StatusOr<MailPieces> SignAndEncryptOwnedMailPieces(const CmsContext& context,
                                                         std::string mail, const Signer& signer,
                                                         const MailSignOptions& sign_options,
                                                         const std::vector<X509*>& recipients,
                                                         const EncryptOptions& encrypt_options) {
  ASSIGN_OR_RETURN(SplitPlan plan, PlanSplit(mail, context.limits));
  if (sign_options.form == SignedForm::kMultipartSigned && BodyIsCanonical(&plan)) {
    // The signed entity is its heads, the mail's body where it lies and
    // the signature part: all encrypted there, the body over itself.
    ASSIGN_OR_RETURN(SignedAroundBody around, SignAroundBody(context, plan, signer, sign_options));
    const size_t offset = static_cast<size_t>(plan.body.data() - mail.data());
    const size_t size = plan.body.size();
    return EncryptOver(context, std::move(mail), offset, size, plan.outer_headers, around.head,
                       around.tail, recipients, encrypt_options);
  }
  // Otherwise the signed entity is a string of its own, encrypted over
  // itself; the mail is freed once it is written.
  std::string entity;
  ReserveLarge(&entity, EntitySizeBound(plan));
  RETURN_IF_ERROR(AppendEntity(plan, context.limits, &entity));
  std::string().swap(mail);
  ASSIGN_OR_RETURN(std::string signed_entity, SignEntity(context, entity, signer, sign_options));
  std::string().swap(entity);
  const size_t size = signed_entity.size();
  return EncryptOver(context, std::move(signed_entity), 0, size, plan.outer_headers, "", "",
                     recipients, encrypt_options);
}

absl::StatusOr<std::string> SignAndEncryptMail(const CmsContext& context, absl::string_view mail,
                                               const Signer& signer,
                                               const MailSignOptions& sign_options,
                                               const std::vector<X509*>& recipients,
                                               const EncryptOptions& encrypt_options) {
  RETURN_IF_ERROR(CheckMessageSize(mail, context.limits));
  // A copy to sign and encrypt in place, no larger than the entity
  // SplitMail would write.
  ASSIGN_OR_RETURN(MailPieces pieces,
                   SignAndEncryptOwnedMailPieces(context, std::string(mail), signer, sign_options,
                                                 recipients, encrypt_options));
  return std::move(pieces).Flatten();
}

}  // namespace signet::cms
