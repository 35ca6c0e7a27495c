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

absl::StatusOr<std::string> SignMail(const CmsContext& context, absl::string_view mail,
                                     const Signer& signer, const MailSignOptions& options) {
  ASSIGN_OR_RETURN(SplitPlan plan, PlanSplit(mail, context.limits));
  std::string out;
  if (options.form == SignedForm::kOpaque) {
    // The entity goes inside the SignedData: written on its own, given
    // back once signed.
    std::string der;
    {
      std::string entity;
      RETURN_IF_ERROR(AppendEntity(plan, context.limits, &entity));
      ASSIGN_OR_RETURN(der, SignAttached(context, entity, signer, options.sign));
    }
    ReserveLarge(&out, plan.outer_headers.size() + Base64EncodedSize(der.size()) + 512);
    AppendMailHead(plan.outer_headers, &out);
    AppendPkcs7MimeEntity(der, SmimeType::kSignedData, &out);
    return out;
  }
  // multipart/signed: the entity is written once, straight into the
  // result, and signed where it lies. Room for the signature part is
  // reserved ahead (certificates and all), so that appending it does not
  // move the mail.
  size_t certificates = static_cast<size_t>(std::max(0, i2d_X509(signer.certificate, nullptr)));
  for (X509* certificate : signer.chain) {
    certificates += static_cast<size_t>(std::max(0, i2d_X509(certificate, nullptr)));
  }
  ReserveLarge(&out, plan.outer_headers.size() + EntitySizeBound(plan) +
                         Base64EncodedSize(certificates + 16384) + 1024);
  AppendMailHead(plan.outer_headers, &out);
  const size_t head_begin = out.size();
  std::string boundary = RandomBoundary();
  AppendMultipartSignedHead(boundary, options.sign.digest, &out);
  const size_t entity_begin = out.size();
  RETURN_IF_ERROR(AppendEntity(plan, context.limits, &out));
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
  return out;
}

}  // namespace signet::cms
