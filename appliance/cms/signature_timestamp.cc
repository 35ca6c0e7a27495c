#include "appliance/cms/signature_timestamp.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "appliance/cms/asn1_structure.h"
#include "appliance/cms/cms_reader.h"
#include "appliance/cms/mail_parts.h"
#include "appliance/cms/mime.h"
#include "appliance/cms/operation_error.h"
#include "appliance/cms/signer_info_bytes.h"
#include "common/der.h"
#include "common/ossl_ptr.h"
#include "common/status_macros.h"

namespace signet::cms {
namespace {

absl::StatusOr<CmsPtr> ParseSignedData(const CmsContext& context, absl::string_view der) {
  RETURN_IF_ERROR(CheckMessageSize(der, context.limits));
  ASSIGN_OR_RETURN(CmsPtr cms, ParseCms(context, der));
  if (OBJ_obj2nid(CMS_get0_type(cms.get())) != NID_pkcs7_signed) {
    return absl::InvalidArgumentError("the CMS structure is not SignedData");
  }
  if (sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(cms.get())) <= 0) {
    return absl::InvalidArgumentError("the SignedData has no signer");
  }
  return cms;
}

absl::string_view SignatureValue(CMS_SignerInfo* signer_info) {
  const ASN1_OCTET_STRING* signature = CMS_SignerInfo_get0_signature(signer_info);
  return absl::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(signature)),
                           static_cast<size_t>(ASN1_STRING_length(signature)));
}

// A stamp must be one DER SEQUENCE: it goes into the attribute as it is.
absl::Status CheckToken(const CmsContext& context, absl::string_view token) {
  if (token.empty() || static_cast<unsigned char>(token[0]) != 0x30) {
    return absl::InvalidArgumentError("a time-stamp token is not a SEQUENCE");
  }
  if (absl::Status structure = CheckAsn1Structure(token, context.limits); !structure.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("a time-stamp token does not parse: ", structure.message()));
  }
  return absl::OkStatus();
}

// Everything after the last character that is not a line break: the
// layout that follows the base64 text, kept as it was.
absl::string_view TrailingLineBreaks(absl::string_view body) {
  size_t end = body.size();
  while (end > 0 && (body[end - 1] == '\r' || body[end - 1] == '\n')) --end;
  return body.substr(end);
}

// `der` encoded as `old_body` was: binary, or base64 in 76-character lines
// with the same line breaks (LF when the old body had no CRLF) and the same
// line breaks after the text.
std::string EncodeLike(absl::string_view old_body, absl::string_view der, bool binary) {
  if (binary) return std::string(der);
  std::string text = Base64Encode(der);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (absl::StrContains(old_body, '\n') && !absl::StrContains(old_body, "\r\n")) {
    absl::StrReplaceAll({{"\r\n", "\n"}}, &text);
  }
  return absl::StrCat(text, TrailingLineBreaks(old_body));
}

bool IsBinary(const MimeEntity& entity) {
  const HeaderField* field = entity.Find("Content-Transfer-Encoding");
  return field != nullptr && absl::EqualsIgnoreCase(field->value, "binary");
}

// `mail` with the body of `part` (a view into it) replaced by its SignedData,
// stamped.
absl::StatusOr<std::string> ReplaceCms(const CmsContext& context, absl::string_view mail,
                                       const MimeEntity& part, const StampFunction& stamp) {
  ASSIGN_OR_RETURN(std::string der, CmsBytesOf(part));
  ASSIGN_OR_RETURN(std::string stamped, AddSignatureTimestamps(context, der, stamp));
  const size_t begin = static_cast<size_t>(part.body.data() - mail.data());
  const size_t end = begin + part.body.size();
  return absl::StrCat(mail.substr(0, begin), EncodeLike(part.body, stamped, IsBinary(part)),
                      mail.substr(end));
}

std::string EncodeCms(CMS_ContentInfo* cms) {
  return DerOf<CMS_ContentInfo, i2d_CMS_ContentInfo>(cms);
}

// Whether `der` has each SignerInfo's signed attributes and signature as
// `before` has them, byte for byte.
absl::Status CheckSignedBytesKept(const std::vector<SignerInfoBytes>& before, absl::string_view der,
                                  bool stamped) {
  if (der.empty()) return OperationError("cannot encode the SignedData");
  ASSIGN_OR_RETURN(const std::vector<SignerInfoBytes> after, SignerInfoBytesOf(der));
  if (after.size() != before.size()) {
    return absl::InternalError("encoding the SignedData again changed its number of signers");
  }
  for (size_t i = 0; i < before.size(); ++i) {
    if (after[i].signed_attributes == before[i].signed_attributes &&
        after[i].signature == before[i].signature) {
      continue;
    }
    if (stamped) {
      return absl::InternalError(
          absl::StrCat("adding the time-stamp changed signer ", i + 1, "'s signed bytes"));
    }
    return absl::FailedPreconditionError(
        absl::StrCat("signer ", i + 1,
                     "'s signed attributes are not in DER: encoding them again for the "
                     "time-stamp would change what the signature covers"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> AddSignatureTimestamps(const CmsContext& context,
                                                   absl::string_view signed_data_der,
                                                   const StampFunction& stamp) {
  ASSIGN_OR_RETURN(CmsPtr cms, ParseSignedData(context, signed_data_der));
  ASSIGN_OR_RETURN(const std::vector<SignerInfoBytes> before, SignerInfoBytesOf(signed_data_der));
  // OpenSSL encodes everything again, sorting each SET OF as DER wants:
  // signed attributes that came in another order would move, and the
  // signature (over their DER) would no longer match the bytes a verifier
  // reads. Found out before any TSA is asked.
  RETURN_IF_ERROR(CheckSignedBytesKept(before, EncodeCms(cms.get()), /*stamped=*/false));
  STACK_OF(CMS_SignerInfo)* signer_infos = CMS_get0_SignerInfos(cms.get());
  for (int i = 0; i < sk_CMS_SignerInfo_num(signer_infos); ++i) {
    CMS_SignerInfo* signer_info = sk_CMS_SignerInfo_value(signer_infos, i);
    ASSIGN_OR_RETURN(const std::string token, stamp(SignatureValue(signer_info)));
    RETURN_IF_ERROR(CheckToken(context, token));
    // V_ASN1_SEQUENCE: OpenSSL keeps the bytes as the whole encoded value.
    BeginOperation();
    if (CMS_unsigned_add1_attr_by_NID(signer_info, NID_id_smime_aa_timeStampToken, V_ASN1_SEQUENCE,
                                      token.data(), static_cast<int>(token.size())) != 1) {
      return OperationError("cannot add the time-stamp token");
    }
  }
  std::string der = EncodeCms(cms.get());
  if (der.empty()) return OperationError("cannot encode the SignedData");
  RETURN_IF_ERROR(CheckSignedBytesKept(before, der, /*stamped=*/true));
  return der;
}

absl::StatusOr<std::vector<SignatureTimestamp>> SignatureTimestamps(
    const CmsContext& context, absl::string_view signed_data_der) {
  ASSIGN_OR_RETURN(CmsPtr cms, ParseSignedData(context, signed_data_der));
  std::vector<SignatureTimestamp> result;
  STACK_OF(CMS_SignerInfo)* signer_infos = CMS_get0_SignerInfos(cms.get());
  for (int i = 0; i < sk_CMS_SignerInfo_num(signer_infos); ++i) {
    CMS_SignerInfo* signer_info = sk_CMS_SignerInfo_value(signer_infos, i);
    SignatureTimestamp entry;
    entry.signature_value = std::string(SignatureValue(signer_info));
    const int index = CMS_unsigned_get_attr_by_NID(signer_info, NID_id_smime_aa_timeStampToken, -1);
    if (index >= 0) {
      const ASN1_TYPE* value =
          X509_ATTRIBUTE_get0_type(CMS_unsigned_get_attr(signer_info, index), 0);
      if (value == nullptr || value->type != V_ASN1_SEQUENCE) {
        return absl::InvalidArgumentError("a time-stamp token attribute holds no SEQUENCE");
      }
      // A SEQUENCE in an ANY is kept as its whole encoding, as it came.
      entry.token_der =
          std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value->value.sequence)),
                      static_cast<size_t>(ASN1_STRING_length(value->value.sequence)));
    }
    result.push_back(std::move(entry));
  }
  ERR_clear_error();
  return result;
}

absl::StatusOr<std::string> TimestampSignedMail(const CmsContext& context,
                                                absl::string_view signed_mail,
                                                const StampFunction& stamp) {
  RETURN_IF_ERROR(CheckMessageSize(signed_mail, context.limits));
  ASSIGN_OR_RETURN(MimeEntity entity, ParseEntity(signed_mail, context.limits));
  ASSIGN_OR_RETURN(ContentType type, ContentTypeOf(entity));
  if (IsPkcs7Mime(type)) {
    const std::optional<std::string> smime_type = type.Param("smime-type");
    if (smime_type.has_value() && !absl::EqualsIgnoreCase(*smime_type, "signed-data")) {
      return absl::InvalidArgumentError("the mail is S/MIME but not signed-data");
    }
    return ReplaceCms(context, signed_mail, entity, stamp);
  }
  if (!type.Is("multipart", "signed")) {
    return absl::InvalidArgumentError("the mail is neither multipart/signed nor signed-data");
  }
  const std::optional<std::string> boundary = type.Param("boundary");
  if (!boundary.has_value())
    return absl::InvalidArgumentError("multipart/signed without a boundary");
  ASSIGN_OR_RETURN(Multipart multipart, SplitMultipart(entity.body, *boundary, context.limits));
  if (multipart.parts.size() != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("multipart/signed has ", multipart.parts.size(), " parts instead of 2"));
  }
  ASSIGN_OR_RETURN(MimeEntity signature, ParseEntity(multipart.parts[1], context.limits));
  ASSIGN_OR_RETURN(ContentType signature_type, ContentTypeOf(signature));
  if (!IsPkcs7Signature(signature_type)) {
    return absl::InvalidArgumentError(
        "the second part of multipart/signed is not application/pkcs7-signature");
  }
  return ReplaceCms(context, signed_mail, signature, stamp);
}

}  // namespace signet::cms
