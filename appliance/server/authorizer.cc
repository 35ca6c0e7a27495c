#include "appliance/server/authorizer.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "appliance/cms/limits.h"
#include "appliance/cms/mailbox_list.h"
#include "appliance/cms/mime.h"
#include "appliance/server/grpc_status.h"
#include "common/status_macros.h"

namespace signet::server {
namespace {

using config::v1::Caller;
using config::v1::Grant;
using config::v1::Operation;

bool Matches(const Caller& caller, const CallerIdentity& identity) {
  switch (caller.identity_case()) {
    case Caller::kCertificateSubject:
      return !identity.certificate_subject.empty() &&
             identity.certificate_subject == caller.certificate_subject();
    case Caller::kCertificateSan:
      // DNS names and mail domains ignore case, and so does the validator's
      // duplicate check: "MX1.bank.example" is the caller "mx1.bank.example".
      return std::any_of(identity.certificate_sans.begin(), identity.certificate_sans.end(),
                         [&](const std::string& san) {
                           return absl::EqualsIgnoreCase(san, caller.certificate_san());
                         });
    case Caller::kUnixUid:
      return identity.unix_uid.has_value() && *identity.unix_uid == caller.unix_uid();
    case Caller::IDENTITY_NOT_SET:
      break;
  }
  return false;
}

bool Grants(const Grant& grant, absl::string_view key, Operation operation) {
  if (std::find(grant.operations().begin(), grant.operations().end(), operation) ==
      grant.operations().end()) {
    return false;
  }
  if (key.empty()) return true;
  return std::any_of(grant.keys().begin(), grant.keys().end(), [key](const std::string& granted) {
    return granted == "*" || granted == key;
  });
}

}  // namespace

std::string CallerIdentity::Describe() const {
  if (unix_uid.has_value()) return absl::StrCat("uid ", *unix_uid);
  if (!certificate_subject.empty()) return certificate_subject;
  return "an unidentified peer";
}

Authorizer::Authorizer(const config::v1::Config& config) : config_(config) {
  for (const config::v1::Key& key : config_.keys()) {
    if (key.sender_addresses().empty()) continue;
    std::vector<cms::Mailbox>& senders = senders_[key.name()];
    for (const std::string& address : key.sender_addresses()) {
      // The validator accepted it as an address; one it could not read
      // would bind nothing.
      if (absl::StatusOr<cms::Mailbox> mailbox = cms::ParseMailbox(address); mailbox.ok()) {
        senders.push_back(*std::move(mailbox));
      }
    }
  }
}

absl::StatusOr<std::string> Authorizer::Identify(const CallerIdentity& identity) const {
  for (const Caller& caller : config_.callers()) {
    if (Matches(caller, identity)) return caller.name();
  }
  return absl::PermissionDeniedError(absl::StrCat("no configured caller is ", identity.Describe()));
}

absl::Status Authorizer::Check(absl::string_view caller, absl::string_view key,
                               Operation operation) const {
  for (const Caller& configured : config_.callers()) {
    if (configured.name() != caller) continue;
    for (const Grant& grant : configured.grants()) {
      if (Grants(grant, key, operation)) return absl::OkStatus();
    }
  }
  return absl::PermissionDeniedError(
      absl::StrCat("caller '", caller, "' may not ", config::v1::Operation_Name(operation),
                   key.empty() ? "" : absl::StrCat(" with key '", key, "'")));
}

bool Authorizer::VerifyRequiresSenderMatch(absl::string_view caller) const {
  return std::any_of(
      config_.callers().begin(), config_.callers().end(), [caller](const Caller& configured) {
        return configured.name() == caller && configured.verify_require_sender_match();
      });
}

bool Authorizer::MaySkipRecipientValidation(absl::string_view caller) const {
  return std::any_of(
      config_.callers().begin(), config_.callers().end(), [caller](const Caller& configured) {
        return configured.name() == caller && configured.encrypt_skip_recipient_validation();
      });
}

absl::Status Authorizer::CheckDigestSigning(absl::string_view key) const {
  if (!senders_.contains(key)) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("key '", key,
                   "' may sign only for its sender addresses, which a digest does "
                   "not show: sign the whole mail (SignMail), or use a key without "
                   "sender_addresses"));
}

namespace {

// A bound address matches when the local parts are equal as written (RFC
// 5321 leaves their case to the receiving system) and the domains are equal
// ignoring case.
bool IsBound(const std::vector<cms::Mailbox>& bound, const cms::Mailbox& mailbox) {
  return std::any_of(bound.begin(), bound.end(), [&](const cms::Mailbox& address) {
    return address.local_part == mailbox.local_part &&
           absl::EqualsIgnoreCase(address.domain, mailbox.domain);
  });
}

// A refusal that is the mail's own (its From or Sender field), not the
// caller's grants: the details say so, so that a caller that chose the key
// by the envelope refuses the mail rather than retrying it.
absl::Status SenderRefused(absl::string_view refusal, std::string message) {
  absl::Status status = absl::PermissionDeniedError(message);
  v1::ErrorDetails details;
  details.set_sender_refusal(std::string(refusal));
  SetErrorDetails(status, details);
  return status;
}

}  // namespace

absl::Status Authorizer::CheckSender(absl::string_view key, absl::string_view mail) const {
  auto bound = senders_.find(key);
  if (bound == senders_.end()) return absl::OkStatus();
  ASSIGN_OR_RETURN(cms::MimeEntity entity, cms::ParseEntity(mail, cms::Limits{}));
  const cms::HeaderField* from = nullptr;
  const cms::HeaderField* sender = nullptr;
  for (const cms::HeaderField& field : entity.headers) {
    const bool is_from = absl::EqualsIgnoreCase(field.name, "From");
    if (!is_from && !absl::EqualsIgnoreCase(field.name, "Sender")) continue;
    const cms::HeaderField*& seen = is_from ? from : sender;
    if (seen != nullptr) {
      return SenderRefused("REPEATED_FIELD",
                           absl::StrCat("key '", key,
                                        "' signs only for its senders, and the mail has more "
                                        "than one ",
                                        field.name, " field"));
    }
    seen = &field;
  }
  if (from == nullptr) {
    return SenderRefused(
        "NO_FROM",
        absl::StrCat("key '", key, "' signs only for its senders, and the mail has no From"));
  }
  absl::StatusOr<std::vector<cms::Mailbox>> authors = cms::ParseMailboxList(from->value);
  if (!authors.ok()) {
    return SenderRefused(
        "MALFORMED_FROM",
        absl::StrCat("key '", key, "' signs only for its senders, and the mail's From is ",
                     authors.status().message()));
  }
  if (authors->size() != 1) {
    return SenderRefused(
        "SEVERAL_AUTHORS",
        absl::StrCat("key '", key, "' signs only for its senders, and the mail's From names ",
                     authors->size(), " authors (a bound key signs for exactly one)"));
  }
  std::vector<const cms::Mailbox*> claimed = {&authors->front()};
  absl::StatusOr<cms::Mailbox> sent_by;
  if (sender != nullptr) {
    sent_by = cms::ParseMailbox(sender->value);
    if (!sent_by.ok()) {
      return SenderRefused(
          "MALFORMED_SENDER",
          absl::StrCat("key '", key, "' signs only for its senders, and the mail's Sender is ",
                       sent_by.status().message()));
    }
    claimed.push_back(&*sent_by);
  }
  for (const cms::Mailbox* mailbox : claimed) {
    if (!IsBound(bound->second, *mailbox)) {
      return SenderRefused("NOT_BOUND", absl::StrCat("key '", key, "' may not sign for <",
                                                     mailbox->AddrSpec().substr(0, 254), ">"));
    }
  }
  return absl::OkStatus();
}

}  // namespace signet::server
