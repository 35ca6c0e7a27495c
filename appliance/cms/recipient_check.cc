#include "appliance/cms/recipient_check.h"

#include <openssl/x509v3.h>

#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "appliance/cms/enveloped_data.h"
#include "appliance/pki/chain_validation.h"

namespace signet::cms {
namespace {

constexpr char kFailurePayload[] = "type.signet.dev/signet.cms.RecipientFailure";
constexpr char kIndexPayload[] = "type.signet.dev/signet.cms.RecipientIndex";
constexpr char kSubjectPayload[] = "type.signet.dev/signet.cms.RecipientSubject";
constexpr char kEmailsPayload[] = "type.signet.dev/signet.cms.RecipientEmails";
constexpr char kReasonPayload[] = "type.signet.dev/signet.cms.RecipientRevocationReason";

constexpr std::pair<RecipientFailure, const char*> kFailureNames[] = {
    {RecipientFailure::kUntrusted, "UNTRUSTED"},
    {RecipientFailure::kExpired, "EXPIRED"},
    {RecipientFailure::kNotYetValid, "NOT_YET_VALID"},
    {RecipientFailure::kRevoked, "REVOKED"},
    {RecipientFailure::kRevocationUnknown, "REVOCATION_UNKNOWN"},
    {RecipientFailure::kKeyUsage, "KEY_USAGE"},
    {RecipientFailure::kExtendedKeyUsage, "EXTENDED_KEY_USAGE"},
    {RecipientFailure::kWrongPurpose, "WRONG_PURPOSE"},
    {RecipientFailure::kPolicy, "POLICY"},
    {RecipientFailure::kInvalidChain, "INVALID_CHAIN"},
};

RecipientFailure FailureOf(pki::ChainFailure failure) {
  switch (failure) {
    case pki::ChainFailure::kUntrusted:
      return RecipientFailure::kUntrusted;
    case pki::ChainFailure::kExpired:
      return RecipientFailure::kExpired;
    case pki::ChainFailure::kNotYetValid:
      return RecipientFailure::kNotYetValid;
    case pki::ChainFailure::kWrongPurpose:
      return RecipientFailure::kWrongPurpose;
    case pki::ChainFailure::kRevoked:
      return RecipientFailure::kRevoked;
    case pki::ChainFailure::kRevocationUnknown:
      return RecipientFailure::kRevocationUnknown;
    case pki::ChainFailure::kPolicy:
      return RecipientFailure::kPolicy;
    case pki::ChainFailure::kInvalid:
      break;
  }
  return RecipientFailure::kInvalidChain;
}

std::vector<std::string> EmailsOf(X509* certificate) {
  std::vector<std::string> emails;
  if (STACK_OF(OPENSSL_STRING)* list = X509_get1_email(certificate)) {
    for (int i = 0; i < sk_OPENSSL_STRING_num(list); ++i) {
      emails.emplace_back(sk_OPENSSL_STRING_value(list, i));
    }
    X509_email_free(list);
  }
  return emails;
}

// Why the certificate's chain is refused, in words: which certificate of
// the chain, and for a revocation its reason and date.
std::string ChainReason(const pki::ChainResult& chain, const std::string& subject,
                        RecipientRefusal& refusal) {
  const std::string about =
      chain.failed_subject.empty() || chain.failed_subject == subject
          ? std::string("the certificate")
          : absl::StrCat("its chain's certificate ", chain.failed_subject.substr(0, 200));
  switch (refusal.failure) {
    case RecipientFailure::kUntrusted:
      return absl::StrCat("it does not chain to a recipient trust anchor (", chain.detail, ")");
    case RecipientFailure::kExpired:
      return absl::StrCat(about, " has expired");
    case RecipientFailure::kNotYetValid:
      return absl::StrCat(about, " is not valid yet");
    case RecipientFailure::kRevoked:
      for (size_t i = 0; i < chain.revocation.size(); ++i) {
        const pki::RevocationResult& result = chain.revocation[i];
        if (result.state != pki::RevocationState::kRevoked) continue;
        refusal.revocation_reason = result.reason;
        std::string text = i == 0 || i >= chain.chain.size()
                               ? std::string("the certificate")
                               : absl::StrCat("its chain's certificate ", chain.chain[i]);
        absl::StrAppend(&text, " is revoked");
        if (!result.reason.empty()) absl::StrAppend(&text, " (", result.reason, ")");
        if (result.revoked_at.has_value()) {
          absl::StrAppend(
              &text, " since ",
              absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", *result.revoked_at, absl::UTCTimeZone()));
        }
        return text;
      }
      return absl::StrCat(about, " is revoked");
    case RecipientFailure::kRevocationUnknown:
    case RecipientFailure::kWrongPurpose:
    case RecipientFailure::kPolicy:
    case RecipientFailure::kInvalidChain:
    case RecipientFailure::kKeyUsage:
    case RecipientFailure::kExtendedKeyUsage:
      break;
  }
  if (refusal.failure == RecipientFailure::kWrongPurpose) {
    return absl::StrCat(about, " is not for S/MIME encryption (", chain.detail, ")");
  }
  return chain.detail;
}

absl::Status Refuse(RecipientRefusal refusal, absl::string_view reason) {
  std::string who = absl::StrCat("recipient certificate ", refusal.index + 1, " (",
                                 refusal.subject.substr(0, 200));
  if (!refusal.email_addresses.empty()) {
    absl::StrAppend(&who, ", ", absl::StrJoin(refusal.email_addresses, ", ").substr(0, 200));
  }
  absl::Status status =
      absl::InvalidArgumentError(absl::StrCat(who, ") is refused: ", reason.substr(0, 400)));
  status.SetPayload(kFailurePayload, absl::Cord(RecipientFailureName(refusal.failure)));
  status.SetPayload(kIndexPayload, absl::Cord(absl::StrCat(refusal.index)));
  status.SetPayload(kSubjectPayload, absl::Cord(refusal.subject));
  status.SetPayload(kEmailsPayload, absl::Cord(absl::StrJoin(refusal.email_addresses, "\n")));
  status.SetPayload(kReasonPayload, absl::Cord(refusal.revocation_reason));
  return status;
}

absl::Status CheckRecipient(const CmsContext& context, const TrustStore& trust, X509* certificate,
                            int index, const RecipientCheckOptions& options) {
  RecipientRefusal refusal{.index = index,
                           .subject = pki::NameText(X509_get_subject_name(certificate)),
                           .email_addresses = EmailsOf(certificate)};
  // The certificate's own fitness first: no chain makes a key that may not
  // receive fit to.
  if (std::optional<std::string> problem = RecipientKeyProblem(certificate); problem.has_value()) {
    refusal.failure = RecipientFailure::kKeyUsage;
    return Refuse(std::move(refusal), *problem);
  }
  if ((X509_get_extension_flags(certificate) & EXFLAG_XKUSAGE) != 0 &&
      (X509_get_extended_key_usage(certificate) & XKU_SMIME) == 0) {
    refusal.failure = RecipientFailure::kExtendedKeyUsage;
    return Refuse(std::move(refusal),
                  "its extendedKeyUsage does not include emailProtection (S/MIME)");
  }
  pki::ChainResult chain = pki::ValidateChain(trust.get(), certificate, nullptr,
                                              {.libctx = context.libctx,
                                               .purpose = X509_PURPOSE_SMIME_ENCRYPT,
                                               .purpose_for_cas_only = true,
                                               .at = options.at,
                                               .validation = options.validation});
  if (!chain.failure.has_value()) return absl::OkStatus();
  refusal.failure = FailureOf(*chain.failure);
  const std::string reason = ChainReason(chain, refusal.subject, refusal);
  return Refuse(std::move(refusal), reason);
}

}  // namespace

const char* RecipientFailureName(RecipientFailure failure) {
  for (const auto& [value, name] : kFailureNames) {
    if (value == failure) return name;
  }
  return "UNKNOWN";
}

std::optional<RecipientRefusal> RecipientRefusalOf(const absl::Status& status) {
  absl::optional<absl::Cord> failure = status.GetPayload(kFailurePayload);
  if (!failure.has_value()) return std::nullopt;
  RecipientRefusal refusal;
  bool known = false;
  for (const auto& [value, name] : kFailureNames) {
    if (*failure == name) {
      refusal.failure = value;
      known = true;
    }
  }
  if (!known) return std::nullopt;
  if (absl::optional<absl::Cord> index = status.GetPayload(kIndexPayload)) {
    if (!absl::SimpleAtoi(std::string(*index), &refusal.index)) refusal.index = 0;
  }
  if (absl::optional<absl::Cord> subject = status.GetPayload(kSubjectPayload)) {
    refusal.subject = std::string(*subject);
  }
  if (absl::optional<absl::Cord> emails = status.GetPayload(kEmailsPayload)) {
    const std::string text(*emails);
    if (!text.empty()) refusal.email_addresses = absl::StrSplit(text, '\n');
  }
  if (absl::optional<absl::Cord> reason = status.GetPayload(kReasonPayload)) {
    refusal.revocation_reason = std::string(*reason);
  }
  return refusal;
}

absl::Status CheckRecipients(const CmsContext& context, const TrustStore& trust,
                             const std::vector<X509*>& recipients,
                             const RecipientCheckOptions& options) {
  for (size_t i = 0; i < recipients.size(); ++i) {
    if (recipients[i] == nullptr) return absl::InvalidArgumentError("a recipient is missing");
    if (absl::Status checked =
            CheckRecipient(context, trust, recipients[i], static_cast<int>(i), options);
        !checked.ok()) {
      return checked;
    }
  }
  return absl::OkStatus();
}

}  // namespace signet::cms
