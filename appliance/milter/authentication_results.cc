#include "appliance/milter/authentication_results.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "appliance/directory/email_address.h"
#include "appliance/milter/message_rewrite.h"
#include "signet/v1/mail.pb.h"

namespace signet::milter {
namespace {

// RFC 2045 tspecials.
bool IsTspecial(char c) {
  return absl::string_view("()<>@,;:\\\"/[]?=").find(c) != absl::string_view::npos;
}

bool IsTokenChar(char c) { return c > ' ' && c < 0x7f && !IsTspecial(c); }

bool IsToken(absl::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

// An RFC 2045 value: the token itself, or a quoted-string. Control
// characters (never in what this file is given, but a field must not be
// broken by one) become '?'.
std::string Value(absl::string_view text) {
  if (IsToken(text)) return std::string(text);
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') quoted.push_back('\\');
    quoted.push_back(static_cast<unsigned char>(c) < ' ' || c == 0x7f ? '?' : c);
  }
  quoted.push_back('"');
  return quoted;
}

// RFC 8601 pvalue: an address as it is when it is a plain local-part@domain,
// a quoted value otherwise.
std::string AddressValue(absl::string_view address) {
  if (directory::NormalizeAddress(address).ok()) return std::string(address);
  return Value(address);
}

bool IsWhitespace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Skips blanks, folding and (nested) comments from `pos`. False for an
// unterminated comment.
bool SkipCfws(absl::string_view text, size_t& pos) {
  while (pos < text.size()) {
    if (IsWhitespace(text[pos])) {
      ++pos;
    } else if (text[pos] == '(') {
      int depth = 0;
      do {
        const char c = text[pos++];
        if (c == '\\') {
          ++pos;  // quoted-pair: the next character is literal
        } else if (c == '(') {
          ++depth;
        } else if (c == ')') {
          --depth;
        }
      } while (depth > 0 && pos < text.size());
      if (depth > 0) return false;
    } else {
      return true;
    }
  }
  return true;
}

}  // namespace

absl::string_view SmimeResultName(SmimeResult result) {
  switch (result) {
    case SmimeResult::kNone:
      return "none";
    case SmimeResult::kPass:
      return "pass";
    case SmimeResult::kFail:
      return "fail";
    case SmimeResult::kPolicy:
      return "policy";
    case SmimeResult::kNeutral:
      return "neutral";
    case SmimeResult::kTempError:
      return "temperror";
    case SmimeResult::kPermError:
      return "permerror";
  }
  return "permerror";
}

SmimeVerification VerificationFromResponse(const ::signet::v1::MailResponse::Header& header,
                                           bool require_trusted_chain) {
  SmimeVerification verification;
  verification.require_trusted_chain = require_trusted_chain;
  if (header.signers().empty()) return verification;
  verification.status = SmimeVerification::Status::kVerified;
  const ::signet::v1::Signer* chosen = &header.signers(0);
  int best = -1;
  for (const ::signet::v1::Signer& signer : header.signers()) {
    const bool trusted = signer.chain_status() == ::signet::v1::TRUSTED;
    const int score = (trusted ? 2 : 0) + (signer.from_matches_signer() ? 1 : 0);
    // Trust first: a trusted signer for another address says more than an
    // untrusted one claiming From:.
    if (score > best) {
      best = score;
      chosen = &signer;
    }
  }
  verification.chain_trusted = chosen->chain_status() == ::signet::v1::TRUSTED;
  verification.from_matches = chosen->from_matches_signer();
  verification.from_missing = header.from_address().empty();
  if (verification.from_matches) {
    verification.identifier = header.from_address();
  } else if (!chosen->email_addresses().empty()) {
    verification.identifier = chosen->email_addresses(0);
  }
  return verification;
}

SmimeResult ResultOf(const SmimeVerification& v) {
  using Status = SmimeVerification::Status;
  switch (v.status) {
    case Status::kTemporaryError:
      return SmimeResult::kTempError;
    case Status::kNotSigned:
      return SmimeResult::kNone;
    case Status::kUnprocessable:
      return SmimeResult::kNeutral;
    case Status::kBadSignature:
      return SmimeResult::kFail;
    case Status::kVerified:
      break;
  }
  if (v.from_missing) return SmimeResult::kPermError;
  if (!v.chain_trusted && v.require_trusted_chain) return SmimeResult::kPolicy;
  if (!v.from_matches) return SmimeResult::kPolicy;
  return SmimeResult::kPass;
}

std::string SmimeAuthenticationResults(absl::string_view authserv_id,
                                       const SmimeVerification& verification) {
  using Status = SmimeVerification::Status;
  const SmimeResult result = ResultOf(verification);
  std::string reason;
  switch (verification.status) {
    case Status::kTemporaryError:
      reason = "verification could not finish; try again later";
      break;
    case Status::kUnprocessable:
      reason = "signature could not be processed";
      break;
    case Status::kBadSignature:
      reason = "signature does not verify";
      break;
    case Status::kNotSigned:
      break;
    case Status::kVerified:
      if (verification.from_missing) {
        reason = "no single From: address";
      } else if (!verification.chain_trusted) {
        reason = "signer certificate not trusted";
        if (!verification.from_matches) reason += "; From: does not match the signer";
      } else if (!verification.from_matches) {
        reason = "From: does not match the signer";
      }
      break;
  }
  std::string value = absl::StrCat(Value(authserv_id), "; smime=", SmimeResultName(result));
  if (!reason.empty()) absl::StrAppend(&value, " reason=", Value(reason));
  if (verification.status == Status::kVerified && !verification.identifier.empty()) {
    absl::StrAppend(&value, " body.smime-identifier=", AddressValue(verification.identifier));
  }
  return value;
}

bool ClaimsAuthservId(absl::string_view ar_value, absl::string_view authserv_id) {
  size_t pos = 0;
  if (!SkipCfws(ar_value, pos) || pos >= ar_value.size()) return false;
  std::string id;
  if (ar_value[pos] == '"') {
    ++pos;
    bool closed = false;
    while (pos < ar_value.size()) {
      char c = ar_value[pos++];
      if (c == '"') {
        closed = true;
        break;
      }
      if (c == '\\' && pos < ar_value.size()) c = ar_value[pos++];
      // Folding inside a quoted-string is whitespace, not the CR or LF.
      if (c == '\r' || c == '\n') continue;
      id.push_back(c);
    }
    if (!closed) return false;
  } else {
    while (pos < ar_value.size() && IsTokenChar(ar_value[pos])) id.push_back(ar_value[pos++]);
  }
  return !id.empty() && absl::EqualsIgnoreCase(id, authserv_id);
}

std::vector<HeaderChange> DeleteForgedAuthenticationResults(const std::vector<HeaderField>& headers,
                                                            absl::string_view authserv_id) {
  std::vector<HeaderChange> deletions;
  int index = 0;
  for (const HeaderField& field : headers) {
    if (!absl::EqualsIgnoreCase(field.name, kAuthenticationResults)) continue;
    ++index;
    if (ClaimsAuthservId(field.value, authserv_id)) {
      deletions.insert(deletions.begin(),
                       {HeaderChange::kDelete, std::string(kAuthenticationResults), index, ""});
    }
  }
  return deletions;
}

}  // namespace signet::milter
