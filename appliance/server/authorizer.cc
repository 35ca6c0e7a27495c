#include "appliance/server/authorizer.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "appliance/cms/limits.h"
#include "appliance/cms/mime.h"

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
    std::vector<std::string>& senders = senders_[key.name()];
    for (const std::string& address : key.sender_addresses()) {
      senders.push_back(absl::AsciiStrToLower(address));
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

absl::Status Authorizer::CheckDigestSigning(absl::string_view key) const {
  if (!senders_.contains(key)) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("key '", key,
                   "' may sign only for its sender addresses, which a digest does "
                   "not show: sign the whole mail (SignMail), or use a key without "
                   "sender_addresses"));
}

absl::Status Authorizer::CheckSender(absl::string_view key, absl::string_view mail) const {
  auto bound = senders_.find(key);
  if (bound == senders_.end()) return absl::OkStatus();
  absl::StatusOr<cms::MimeEntity> entity = cms::ParseEntity(mail, cms::Limits{});
  if (!entity.ok()) return entity.status();
  std::vector<std::string> from;
  for (const cms::HeaderField& field : entity->headers) {
    if (!absl::EqualsIgnoreCase(field.name, "From")) continue;
    for (std::string& address : AddressesOf(field.value)) from.push_back(std::move(address));
  }
  if (from.empty()) {
    return absl::PermissionDeniedError(
        absl::StrCat("key '", key, "' signs only for its senders, and the mail has no From"));
  }
  for (const std::string& address : from) {
    if (std::find(bound->second.begin(), bound->second.end(), address) == bound->second.end()) {
      return absl::PermissionDeniedError(
          absl::StrCat("key '", key, "' may not sign for <", address.substr(0, 254), ">"));
    }
  }
  return absl::OkStatus();
}

std::vector<std::string> AddressesOf(absl::string_view value) {
  std::vector<std::string> addresses;
  std::string current;  // the mailbox outside <>, quotes and comments
  std::string angle;    // what was inside <>
  bool in_angle = false;
  bool in_quotes = false;
  int comment_depth = 0;
  auto finish = [&] {
    std::string address(absl::StripAsciiWhitespace(angle.empty() ? current : angle));
    if (!address.empty()) addresses.push_back(absl::AsciiStrToLower(address));
    current.clear();
    angle.clear();
  };
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (in_quotes) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_quotes = false;
      }
      continue;
    }
    if (comment_depth > 0) {
      if (c == '\\') {
        ++i;
      } else if (c == '(') {
        ++comment_depth;
      } else if (c == ')') {
        --comment_depth;
      }
      continue;
    }
    if (in_angle) {
      if (c == '>') {
        in_angle = false;
      } else {
        angle.push_back(c);
      }
      continue;
    }
    switch (c) {
      case '"':
        in_quotes = true;
        current.clear();  // a quoted display name is not the address
        break;
      case '(':
        comment_depth = 1;
        break;
      case '<':
        in_angle = true;
        angle.clear();
        break;
      case ',':
        finish();
        break;
      default:
        current.push_back(c);
    }
  }
  finish();
  return addresses;
}

}  // namespace signet::server
