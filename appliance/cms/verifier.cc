#include "appliance/cms/verifier.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "appliance/cms/cms_reader.h"
#include "appliance/cms/mail_parts.h"
#include "appliance/cms/mailbox_list.h"
#include "appliance/cms/mime.h"
#include "appliance/cms/mime_internal.h"
#include "appliance/cms/operation_error.h"
#include "appliance/pki/chain_validation.h"
#include "common/asn1_time.h"
#include "common/der.h"
#include "common/status_macros.h"

namespace signet::cms {
namespace {

constexpr char kFailurePayload[] = "type.signet.dev/signet.cms.VerifyFailure";

constexpr std::pair<VerifyFailure, const char*> kFailureNames[] = {
    {VerifyFailure::kNotSigned, "NOT_SIGNED"},
    {VerifyFailure::kMalformed, "MALFORMED"},
    {VerifyFailure::kEmbeddedContentInDetached, "EMBEDDED_CONTENT_IN_DETACHED"},
    {VerifyFailure::kBadSignature, "BAD_SIGNATURE"},
    {VerifyFailure::kContentChanged, "CONTENT_CHANGED"},
    {VerifyFailure::kUntrustedSigner, "UNTRUSTED_SIGNER"},
    {VerifyFailure::kExpiredSigner, "EXPIRED_SIGNER"},
    {VerifyFailure::kSignerNotYetValid, "SIGNER_NOT_YET_VALID"},
    {VerifyFailure::kWrongPurpose, "WRONG_PURPOSE"},
    {VerifyFailure::kInvalidChain, "INVALID_CHAIN"},
    {VerifyFailure::kRevoked, "REVOKED"},
    {VerifyFailure::kRevocationUnknown, "REVOCATION_UNKNOWN"},
    {VerifyFailure::kPolicy, "POLICY"},
    {VerifyFailure::kSenderMismatch, "SENDER_MISMATCH"},
};

absl::Status Failure(VerifyFailure failure, absl::string_view message) {
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kFailurePayload, absl::Cord(VerifyFailureName(failure)));
  return status;
}

// A parser's error as a verification failure of kind kMalformed.
absl::Status Malformed(const absl::Status& status) {
  return Failure(VerifyFailure::kMalformed, status.message());
}

std::string ObjectName(const ASN1_OBJECT* object) {
  const int nid = OBJ_obj2nid(object);
  if (nid != NID_undef) return OBJ_nid2sn(nid);
  char text[80];
  OBJ_obj2txt(text, sizeof(text), object, 1);
  return text;
}

std::optional<absl::Time> SigningTime(CMS_SignerInfo* signer_info) {
  const int index = CMS_signed_get_attr_by_NID(signer_info, NID_pkcs9_signingTime, -1);
  if (index < 0) return std::nullopt;
  X509_ATTRIBUTE* attribute = CMS_signed_get_attr(signer_info, index);
  ASN1_TYPE* value = X509_ATTRIBUTE_get0_type(attribute, 0);
  if (value == nullptr ||
      (value->type != V_ASN1_UTCTIME && value->type != V_ASN1_GENERALIZEDTIME)) {
    return std::nullopt;
  }
  return TimeOf(reinterpret_cast<ASN1_TIME*>(value->value.asn1_string));
}

VerifyFailure FailureOf(pki::ChainFailure failure) {
  switch (failure) {
    case pki::ChainFailure::kUntrusted:
      return VerifyFailure::kUntrustedSigner;
    case pki::ChainFailure::kExpired:
      return VerifyFailure::kExpiredSigner;
    case pki::ChainFailure::kNotYetValid:
      return VerifyFailure::kSignerNotYetValid;
    case pki::ChainFailure::kWrongPurpose:
      return VerifyFailure::kWrongPurpose;
    case pki::ChainFailure::kRevoked:
      return VerifyFailure::kRevoked;
    case pki::ChainFailure::kRevocationUnknown:
      return VerifyFailure::kRevocationUnknown;
    case pki::ChainFailure::kPolicy:
      return VerifyFailure::kPolicy;
    case pki::ChainFailure::kInvalid:
      break;
  }
  return VerifyFailure::kInvalidChain;
}

// The signature's id-aa-timeStampToken (RFC 3161 Appendix A), judged; the
// first one when there are several.
TimestampCheck CheckTimestamp(CMS_SignerInfo* signer_info, const VerifyOptions& options) {
  const int index = CMS_unsigned_get_attr_by_NID(signer_info, NID_id_smime_aa_timeStampToken, -1);
  if (index < 0) return {};
  X509_ATTRIBUTE* attribute = CMS_unsigned_get_attr(signer_info, index);
  ASN1_TYPE* value = X509_ATTRIBUTE_get0_type(attribute, 0);
  ASN1_OCTET_STRING* signature = CMS_SignerInfo_get0_signature(signer_info);
  if (value == nullptr || value->type != V_ASN1_SEQUENCE || signature == nullptr) {
    return {.state = TimestampState::kInvalid, .detail = "the time-stamp attribute is malformed"};
  }
  if (!options.check_timestamp) {
    return {.state = TimestampState::kInvalid,
            .detail = "no TSA is trusted here (no TSA trust anchors configured)"};
  }
  // The attribute value is the token's whole DER (a SEQUENCE kept as is).
  const absl::string_view token(reinterpret_cast<const char*>(value->value.sequence->data),
                                static_cast<size_t>(value->value.sequence->length));
  const absl::string_view signature_value(reinterpret_cast<const char*>(signature->data),
                                          static_cast<size_t>(signature->length));
  return options.check_timestamp(token, signature_value);
}

// Builds and checks the signer's chain to the trust store, filling in the
// chain fields of `report`; the failure kind when it is not trusted. A
// valid time-stamp moves the time the chain is judged at to the stamp's,
// unless the request named a time itself.
std::optional<VerifyFailure> CheckChain(const CmsContext& context, const TrustStore& trust,
                                        const VerifyOptions& options, X509* signer,
                                        STACK_OF(X509) * untrusted, SignerReport* report) {
  std::optional<absl::Time> at = options.at;
  if (!at.has_value() && report->timestamp.state == TimestampState::kValid) {
    at = report->timestamp.time;
  }
  pki::ChainResult chain = pki::ValidateChain(trust.get(), signer, untrusted,
                                              {.libctx = context.libctx,
                                               .purpose = X509_PURPOSE_SMIME_SIGN,
                                               .at = at,
                                               .validation = options.validation});
  report->chain = std::move(chain.chain);
  report->revocation = std::move(chain.revocation);
  report->chain_detail = std::move(chain.detail);
  if (!chain.failure.has_value()) {
    report->chain_status = ChainStatus::kTrusted;
    return std::nullopt;
  }
  return FailureOf(*chain.failure);
}

// The attribute's one value, re-encoded; a signer that sent several values
// (which RFC 8551 forbids) advertised nothing certain.
std::string CapabilitiesOf(CMS_SignerInfo* signer_info) {
  const int index = CMS_signed_get_attr_by_NID(signer_info, NID_SMIMECapabilities, -1);
  if (index < 0) return {};
  X509_ATTRIBUTE* attribute = CMS_signed_get_attr(signer_info, index);
  if (X509_ATTRIBUTE_count(attribute) != 1) return {};
  ASN1_TYPE* value = X509_ATTRIBUTE_get0_type(attribute, 0);
  if (value == nullptr || value->type != V_ASN1_SEQUENCE) return {};
  return std::string(reinterpret_cast<const char*>(value->value.sequence->data),
                     static_cast<size_t>(value->value.sequence->length));
}

SignerReport DescribeSigner(CMS_SignerInfo* signer_info, X509* certificate) {
  SignerReport report;
  report.subject = pki::NameText(X509_get_subject_name(certificate));
  report.issuer = pki::NameText(X509_get_issuer_name(certificate));
  if (BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(certificate), nullptr)) {
    if (char* hex = BN_bn2hex(serial)) {
      report.serial_hex = hex;
      OPENSSL_free(hex);
    }
    BN_free(serial);
  }
  if (STACK_OF(OPENSSL_STRING)* emails = X509_get1_email(certificate)) {
    for (int i = 0; i < sk_OPENSSL_STRING_num(emails); ++i) {
      report.email_addresses.emplace_back(sk_OPENSSL_STRING_value(emails, i));
    }
    X509_email_free(emails);
  }
  report.signing_time = SigningTime(signer_info);
  report.certificate_der = DerOf<X509, i2d_X509>(certificate);
  report.smime_capabilities_der = CapabilitiesOf(signer_info);
  X509_ALGOR* digest = nullptr;
  X509_ALGOR* signature = nullptr;
  CMS_SignerInfo_get0_algs(signer_info, nullptr, nullptr, &digest, &signature);
  const ASN1_OBJECT* object = nullptr;
  if (digest != nullptr) {
    X509_ALGOR_get0(&object, nullptr, nullptr, digest);
    report.digest_algorithm = ObjectName(object);
  }
  if (signature != nullptr) {
    X509_ALGOR_get0(&object, nullptr, nullptr, signature);
    report.signature_algorithm = ObjectName(object);
  }
  return report;
}

// The outer From: field's author, or why there is no single one.
struct FromField {
  std::string address;
  std::string problem;
};

// Only the outer header counts: it is what a mail client shows as the
// author, while a From: inside the signed entity or an attached message is
// content that no client presents as the sender. What the field says must
// be certain: two fields, several authors, or a field the RFC 5322 parser
// refuses give no address, so that the check fails instead of guessing which
// author was meant. Problems never quote the field: they reach the call log.
FromField OuterFrom(const MimeEntity& entity) {
  const HeaderField* from = nullptr;
  int fields = 0;
  for (const HeaderField& field : entity.headers) {
    if (!absl::EqualsIgnoreCase(field.name, "From")) continue;
    if (++fields == 1) from = &field;
  }
  if (fields == 0) return {.problem = "the mail has no From: field"};
  if (fields > 1) {
    return {.problem = absl::StrCat("the mail has ", fields,
                                    " From: fields, so the author it claims is ambiguous")};
  }
  absl::StatusOr<std::vector<Mailbox>> authors = ParseMailboxList(from->value);
  if (!authors.ok()) {
    return {.problem =
                "the From: field is not a mailbox list Signet can read with certainty (RFC 5322; "
                "no groups, no 8-bit bytes)"};
  }
  if (authors->size() != 1) {
    return {.problem = absl::StrCat("the From: field names ", authors->size(),
                                    " authors, so the author it claims is ambiguous")};
  }
  return {.address = authors->front().AddrSpec()};
}

// RFC 5321 lets a mailbox's owner treat its local part's case as
// significant, but mail clients compare the whole address ignoring case
// (Thunderbird's S/MIME header check lower-cases both sides): a mail from
// Statements@Bank.example signed for statements@bank.example is the bank's
// own. The From: address is in AddrSpec's canonical form, so a certificate
// address written with needless quotes or comments does not match: a false
// warning, never a false match.
bool IsSignerAddress(const SignerReport& report, absl::string_view address) {
  if (address.empty()) return false;
  return std::any_of(
      report.email_addresses.begin(), report.email_addresses.end(),
      [address](const std::string& email) { return absl::EqualsIgnoreCase(email, address); });
}

// Names the certificates' addresses (certificate content, like the subject in
// the chain failures) but never the From: address, which is the mail's.
std::string SenderMismatchMessage(const VerifiedMail& verified) {
  if (verified.from_address.empty()) return verified.from_problem;
  if (verified.signers.size() > 1) {
    return "the From: address is not an address in any signer's certificate";
  }
  const std::vector<std::string>& emails = verified.signers.front().email_addresses;
  if (emails.empty()) {
    return "the From: address cannot be the signer's: the signer's certificate names no e-mail "
           "address";
  }
  return absl::StrCat("the From: address is not the signer's: the certificate names ",
                      absl::StrJoin(emails, ", ").substr(0, 200));
}

struct SignedParts {
  std::string cms_der;
  // The detached content as it is in the mail (canonicalised before use),
  // or nullopt for opaque signed-data.
  std::optional<absl::string_view> detached_part;
  FromField from;
};

absl::StatusOr<SignedParts> FindSignature(const CmsContext& context, absl::string_view mail) {
  absl::StatusOr<MimeEntity> entity = ParseEntity(mail, context.limits);
  if (!entity.ok()) return Malformed(entity.status());
  absl::StatusOr<ContentType> type = ContentTypeOf(*entity);
  if (!type.ok()) return Malformed(type.status());
  FromField from = OuterFrom(*entity);

  if (IsPkcs7Mime(*type)) {
    const std::optional<std::string> smime_type = type->Param("smime-type");
    if (smime_type.has_value() && !absl::EqualsIgnoreCase(*smime_type, "signed-data")) {
      return Failure(VerifyFailure::kNotSigned,
                     absl::StrCat("an S/MIME ", mime_internal::QuoteForError(*smime_type),
                                  " mail is not signed"));
    }
    absl::StatusOr<std::string> der = CmsBytesOf(*entity);
    if (!der.ok()) return Malformed(der.status());
    return SignedParts{std::move(*der), std::nullopt, std::move(from)};
  }
  if (!type->Is("multipart", "signed")) {
    return Failure(
        VerifyFailure::kNotSigned,
        absl::StrCat("not a signed mail: its content is ",
                     mime_internal::QuoteForError(absl::StrCat(type->type, "/", type->subtype))));
  }
  const std::optional<std::string> protocol = type->Param("protocol");
  if (!protocol.has_value() ||
      !(absl::EqualsIgnoreCase(*protocol, "application/pkcs7-signature") ||
        absl::EqualsIgnoreCase(*protocol, "application/x-pkcs7-signature"))) {
    return Failure(VerifyFailure::kNotSigned, "multipart/signed without the S/MIME protocol");
  }
  const std::optional<std::string> boundary = type->Param("boundary");
  if (!boundary.has_value()) {
    return Failure(VerifyFailure::kMalformed, "multipart/signed without a boundary");
  }
  absl::StatusOr<Multipart> multipart = SplitMultipart(entity->body, *boundary, context.limits);
  if (!multipart.ok()) return Malformed(multipart.status());
  if (multipart->parts.size() != 2) {
    return Failure(
        VerifyFailure::kMalformed,
        absl::StrCat("multipart/signed has ", multipart->parts.size(), " parts instead of 2"));
  }
  if (absl::Status structure = CheckMimeStructure(multipart->parts[0], context.limits);
      !structure.ok()) {
    return Malformed(structure);
  }
  absl::StatusOr<MimeEntity> signature = ParseEntity(multipart->parts[1], context.limits);
  if (!signature.ok()) return Malformed(signature.status());
  absl::StatusOr<ContentType> signature_type = ContentTypeOf(*signature);
  if (!signature_type.ok()) return Malformed(signature_type.status());
  if (!IsPkcs7Signature(*signature_type)) {
    return Failure(VerifyFailure::kMalformed,
                   "the second part of multipart/signed is not application/pkcs7-signature");
  }
  absl::StatusOr<std::string> der = CmsBytesOf(*signature);
  if (!der.ok()) return Malformed(der.status());
  return SignedParts{std::move(*der), multipart->parts[0], std::move(from)};
}

absl::Status SignatureError() {
  // OpenSSL tells a changed content apart from a bad signature value.
  bool content_changed = false;
  for (unsigned long code = ERR_get_error(); code != 0; code = ERR_get_error()) {
    if (ERR_GET_LIB(code) == ERR_LIB_CMS && ERR_GET_REASON(code) == CMS_R_VERIFICATION_FAILURE) {
      continue;
    }
    if (ERR_GET_LIB(code) == ERR_LIB_CMS && ERR_GET_REASON(code) == CMS_R_CONTENT_VERIFY_ERROR) {
      content_changed = true;
    }
  }
  if (content_changed) {
    return Failure(VerifyFailure::kContentChanged,
                   "the signed content was changed: its digest is not the one signed");
  }
  return Failure(VerifyFailure::kBadSignature, "the signature does not verify");
}

}  // namespace

const char* VerifyFailureName(VerifyFailure failure) {
  for (const auto& [value, name] : kFailureNames) {
    if (value == failure) return name;
  }
  return "UNKNOWN";
}

std::optional<VerifyFailure> VerifyFailureOf(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kFailurePayload);
  if (!payload.has_value()) return std::nullopt;
  for (const auto& [value, name] : kFailureNames) {
    if (*payload == name) return value;
  }
  return std::nullopt;
}

namespace {

// VerifyMail over `content`'s backing (the mail): the signed entity goes
// into `content` (a span of the mail where it is canonical already; else
// its own piece, and the mail released), the rest into the result.
absl::StatusOr<VerifiedMail> VerifyInto(const CmsContext& context, const TrustStore& trust,
                                        const VerifyOptions& options, MailPieces& content) {
  const absl::string_view mail = content.backing();
  if (absl::Status size = CheckMessageSize(mail, context.limits); !size.ok()) {
    return Malformed(size);
  }
  ASSIGN_OR_RETURN(SignedParts parts, FindSignature(context, mail));
  absl::StatusOr<CmsPtr> cms = ParseCms(context, parts.cms_der);
  if (!cms.ok()) return Malformed(cms.status());
  if (OBJ_obj2nid(CMS_get0_type(cms->get())) != NID_pkcs7_signed) {
    return Failure(VerifyFailure::kNotSigned, "the CMS structure is not SignedData");
  }
  if (OBJ_obj2nid(CMS_get0_eContentType(cms->get())) != NID_pkcs7_data) {
    return Failure(VerifyFailure::kMalformed, "the signed content is not of type id-data");
  }
  ASN1_OCTET_STRING** embedded = CMS_get0_content(cms->get());
  const bool has_embedded = embedded != nullptr && *embedded != nullptr;
  if (parts.detached_part.has_value() && has_embedded) {
    return Failure(VerifyFailure::kEmbeddedContentInDetached,
                   "the detached signature also carries content of its own");
  }
  if (!parts.detached_part.has_value() && !has_embedded) {
    return Failure(VerifyFailure::kMalformed, "opaque signed-data without content");
  }
  STACK_OF(CMS_SignerInfo)* signer_infos = CMS_get0_SignerInfos(cms->get());
  if (sk_CMS_SignerInfo_num(signer_infos) <= 0) {
    return Failure(VerifyFailure::kMalformed, "the SignedData has no signer");
  }

  BeginOperation();
  // Detached content goes in behind a buffering BIO: CMS_verify copies a
  // memory BIO into a BIO of its own, which OpenSSL 3.0 leaks when a
  // signature fails (found by verify_fuzzer).
  // Detached content already canonical (CRLF, as mail usually travels) is
  // verified and reported where it lies in the mail; otherwise its
  // canonical form is made once and the mail is let go.
  BioPtr detached;
  absl::string_view signed_entity;
  if (parts.detached_part.has_value()) {
    if (CountBareLineFeeds(*parts.detached_part) == 0) {
      signed_entity = *parts.detached_part;
      content.AppendBacking(signed_entity);
    } else {
      content.AppendOwned(ToCrlf(*parts.detached_part));
      content.ReleaseBacking();
      signed_entity = content.piece(0);
    }
    BioPtr in = ReadBio(signed_entity);
    detached.reset(BIO_new(BIO_f_buffer()));
    if (!in || !detached) return OperationError("cannot allocate a buffer");
    BIO_push(detached.get(), in.release());
  }
  // Only opaque content needs copying out; detached content is at hand.
  BioPtr out(parts.detached_part.has_value() ? nullptr : BIO_new(BIO_s_mem()));
  if (!parts.detached_part.has_value() && !out) {
    return OperationError("cannot allocate a buffer");
  }
  // Signatures and content first; the chains are checked below, each with
  // its own report.
  if (CMS_verify(cms->get(), nullptr, nullptr, detached.get(), out.get(),
                 CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY) != 1) {
    const unsigned long first = ERR_peek_error();
    if (ERR_GET_LIB(first) == ERR_LIB_CMS &&
        ERR_GET_REASON(first) == CMS_R_SIGNER_CERTIFICATE_NOT_FOUND) {
      ERR_clear_error();
      return Failure(VerifyFailure::kMalformed, "the signer's certificate is not in the message");
    }
    return SignatureError();
  }

  VerifiedMail verified;
  verified.opaque = !parts.detached_part.has_value();
  if (verified.opaque) {
    content.AppendOwned(BioContents(out.get()));
    out.reset();
    content.ReleaseBacking();
    if (!content.empty()) signed_entity = content.piece(0);
  }
  if (absl::Status structure = CheckMimeStructure(signed_entity, context.limits); !structure.ok()) {
    return Malformed(structure);
  }
  verified.from_address = std::move(parts.from.address);
  verified.from_problem = std::move(parts.from.problem);
  X509StackPtr certificates(CMS_get1_certs(cms->get()));
  for (int i = 0; i < sk_CMS_SignerInfo_num(signer_infos); ++i) {
    CMS_SignerInfo* signer_info = sk_CMS_SignerInfo_value(signer_infos, i);
    X509* certificate = nullptr;
    CMS_SignerInfo_get0_algs(signer_info, nullptr, &certificate, nullptr, nullptr);
    if (certificate == nullptr) {
      return Failure(VerifyFailure::kMalformed, "the signer's certificate is not in the message");
    }
    SignerReport report = DescribeSigner(signer_info, certificate);
    report.from_matches_signer = IsSignerAddress(report, verified.from_address);
    report.timestamp = CheckTimestamp(signer_info, options);
    std::optional<VerifyFailure> chain_failure =
        CheckChain(context, trust, options, certificate, certificates.get(), &report);
    if (chain_failure.has_value() && options.require_trusted_chain) {
      return Failure(
          *chain_failure,
          absl::StrCat("the signer '", report.subject.substr(0, 200),
                       "' is not trusted: ", report.chain_detail,
                       report.timestamp.state == TimestampState::kValid && !options.at
                           ? absl::StrCat(" (judged at its time-stamp, ",
                                          absl::FormatTime(absl::RFC3339_sec, report.timestamp.time,
                                                           absl::UTCTimeZone()),
                                          ")")
                           : std::string()));
    }
    verified.signers.push_back(std::move(report));
  }
  // Last: a mail whose signature or chain fails says that first, as it is
  // the graver fault.
  if (options.require_sender_match &&
      std::none_of(verified.signers.begin(), verified.signers.end(),
                   [](const SignerReport& signer) { return signer.from_matches_signer; })) {
    return Failure(VerifyFailure::kSenderMismatch, SenderMismatchMessage(verified));
  }
  return verified;
}

}  // namespace

absl::StatusOr<VerifiedMail> VerifyMail(const CmsContext& context, absl::string_view mail,
                                        const TrustStore& trust, const VerifyOptions& options) {
  MailPieces content = MailPieces::Borrowing(mail);
  ASSIGN_OR_RETURN(VerifiedMail verified, VerifyInto(context, trust, options, content));
  verified.signed_entity = std::move(content).Flatten();
  return verified;
}

absl::StatusOr<VerifiedOwnedMail> VerifyOwnedMail(const CmsContext& context, std::string mail,
                                                  const TrustStore& trust,
                                                  const VerifyOptions& options) {
  VerifiedOwnedMail result;
  result.signed_entity = MailPieces::Over(std::move(mail));
  ASSIGN_OR_RETURN(result.report, VerifyInto(context, trust, options, result.signed_entity));
  return result;
}

}  // namespace signet::cms
