#include "appliance/cms/mail_signer.h"

#include <openssl/x509.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "appliance/cms/mail_parts.h"
#include "appliance/cms/mime.h"
#include "appliance/cms/smime_format.h"
#include "common/huge_pages.h"
#include "common/status_macros.h"

namespace signet::cms {

absl::StatusOr<std::string> SignEntity(const CmsContext& context, absl::string_view entity,
                                       const Signer& signer, const MailSignOptions& options) {
  if (options.form == SignedForm::kOpaque) {
    ASSIGN_OR_RETURN(std::string der, SignAttached(context, entity, signer, options.sign));
    return Pkcs7MimeEntity(der, SmimeType::kSignedData);
  }
  ASSIGN_OR_RETURN(std::string der, SignDetached(context, entity, signer, options.sign));
  return MultipartSignedEntity(entity, der, options.sign.digest);
}

absl::StatusOr<SignedAroundBody> SignAroundBody(const CmsContext& context, const SplitPlan& plan,
                                                const Signer& signer,
                                                const MailSignOptions& options) {
  // The entity is its head and the mail's body as it lies: checked,
  // searched and signed in those two pieces, never joined.
  const absl::string_view entity[] = {plan.entity_head, plan.body};
  RETURN_IF_ERROR(CheckMimeStructure(plan.entity_head, plan.body, context.limits));
  const std::string boundary = BoundaryFor(entity, RandomBoundary());
  ASSIGN_OR_RETURN(std::string der, SignDetachedPieces(context, entity, signer, options.sign));
  SignedAroundBody around;
  AppendMultipartSignedHead(boundary, options.sign.digest, &around.head);
  around.head.append(plan.entity_head);
  AppendMultipartSignedTail(boundary, der, &around.tail);
  return around;
}

namespace {

size_t CertificateBytes(const Signer& signer) {
  size_t bytes = static_cast<size_t>(std::max(0, i2d_X509(signer.certificate, nullptr)));
  for (X509* certificate : signer.chain) {
    bytes += static_cast<size_t>(std::max(0, i2d_X509(certificate, nullptr)));
  }
  return bytes;
}

// SignMail over `result`'s backing (the mail), into `result`.
absl::StatusOr<MailPieces> SignInto(const CmsContext& context, MailPieces result,
                                    const Signer& signer, const MailSignOptions& options) {
  ASSIGN_OR_RETURN(SplitPlan plan, PlanSplit(result.backing(), context.limits));
  std::string out;
  if (options.form == SignedForm::kOpaque) {
    // The entity goes inside the SignedData: written on its own, given
    // back once signed.
    std::string der;
    {
      std::string entity;
      RETURN_IF_ERROR(AppendEntity(plan, context.limits, &entity));
      result.ReleaseBacking();
      ASSIGN_OR_RETURN(der, SignAttached(context, entity, signer, options.sign));
    }
    ReserveLarge(&out, plan.outer_headers.size() + Base64EncodedSize(der.size()) + 512);
    AppendMailHead(plan.outer_headers, &out);
    AppendPkcs7MimeEntity(der, SmimeType::kSignedData, &out);
    result.AppendOwned(std::move(out));
    return result;
  }
  if (BodyIsCanonical(&plan)) {
    ASSIGN_OR_RETURN(SignedAroundBody around, SignAroundBody(context, plan, signer, options));
    AppendMailHead(plan.outer_headers, &out);
    out.append(around.head);
    result.AppendOwned(std::move(out));
    result.AppendBacking(plan.body);
    result.AppendOwned(std::move(around.tail));
    return result;
  }
  // Otherwise the entity is written once, straight into the result (and
  // the mail freed then), and signed where it lies. Room for the signature
  // part is reserved ahead (certificates and all), so that appending it
  // does not move the mail.
  ReserveLarge(&out, plan.outer_headers.size() + EntitySizeBound(plan) +
                         Base64EncodedSize(CertificateBytes(signer) + 16384) + 1024);
  AppendMailHead(plan.outer_headers, &out);
  const size_t head_begin = out.size();
  std::string boundary = RandomBoundary();
  AppendMultipartSignedHead(boundary, options.sign.digest, &out);
  const size_t entity_begin = out.size();
  RETURN_IF_ERROR(AppendEntity(plan, context.limits, &out));
  result.ReleaseBacking();
  if (absl::StrContains(absl::string_view(out).substr(entity_begin), boundary)) {
    // The content happens to hold the random boundary: start again with
    // one it does not hold, as MultipartSignedEntity would have chosen.
    const std::string entity = out.substr(entity_begin);
    boundary = NewBoundary(entity);
    out.resize(head_begin);
    AppendMultipartSignedHead(boundary, options.sign.digest, &out);
    out.append(entity);
  }
  ASSIGN_OR_RETURN(
      std::string der,
      SignDetached(context, absl::string_view(out).substr(entity_begin), signer, options.sign));
  AppendMultipartSignedTail(boundary, der, &out);
  result.AppendOwned(std::move(out));
  return result;
}

}  // namespace

absl::StatusOr<std::string> SignMail(const CmsContext& context, absl::string_view mail,
                                     const Signer& signer, const MailSignOptions& options) {
  ASSIGN_OR_RETURN(MailPieces pieces,
                   SignInto(context, MailPieces::Borrowing(mail), signer, options));
  return std::move(pieces).Flatten();
}

absl::StatusOr<MailPieces> SignOwnedMail(const CmsContext& context, std::string mail,
                                         const Signer& signer, const MailSignOptions& options) {
  return SignInto(context, MailPieces::Over(std::move(mail)), signer, options);
}

}  // namespace signet::cms
