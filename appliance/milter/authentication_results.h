// The Authentication-Results field (RFC 8601) that reports an inbound
// mail's S/MIME signature with RFC 7281's "smime" method, and the
// detection of forged ones: a field already in a mail that claims this
// host's authserv-id was not written here and must go (RFC 8601 section 5).
#ifndef SIGNET_APPLIANCE_MILTER_AUTHENTICATION_RESULTS_H_
#define SIGNET_APPLIANCE_MILTER_AUTHENTICATION_RESULTS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "appliance/milter/message_rewrite.h"
#include "signet/v1/mail.pb.h"

namespace signet::milter {

inline constexpr absl::string_view kAuthenticationResults = "Authentication-Results";

// RFC 7281 section 3 result values.
enum class SmimeResult { kNone, kPass, kFail, kPolicy, kNeutral, kTempError, kPermError };

absl::string_view SmimeResultName(SmimeResult result);

// What verifying an inbound mail found.
struct SmimeVerification {
  enum class Status {
    // No S/MIME signature.
    kNotSigned,
    // The signature verifies over the content.
    kVerified,
    // It does not: the content or the signature was altered.
    kBadSignature,
    // Signed, but the signature cannot be processed (malformed CMS, an
    // algorithm signetd does not support).
    kUnprocessable,
    // signetd could not finish (unreachable, a revocation source down); a
    // later attempt may succeed.
    kTemporaryError,
  };
  Status status = Status::kNotSigned;
  // kVerified: the signer's certificate chains to signetd's trust anchors.
  bool chain_trusted = false;
  // kVerified: the mail's From: address is one of the signer's.
  bool from_matches = false;
  // kVerified: the mail has no single From: address to compare.
  bool from_missing = false;
  // The inbound rule's require_trusted_chain.
  bool require_trusted_chain = true;
  // The signer's address (body.smime-identifier); empty when unknown.
  std::string identifier;
};

// The verification VerifyMail's answer reports: the first signer that is
// trusted and matches From:, else the first trusted one, else the first.
SmimeVerification VerificationFromResponse(const ::signet::v1::MailResponse::Header& header,
                                           bool require_trusted_chain);

// The result, first match wins:
//   kTemporaryError → temperror; kNotSigned → none; kUnprocessable →
//   neutral; kBadSignature → fail; no single From: → permerror (RFC 7281:
//   a required header field absent); untrusted chain with
//   require_trusted_chain → policy (the signature is good, the ADMD does not
//   accept its signer); From: not the signer's → policy; otherwise pass
//   (an untrusted chain then noted in the reason).
SmimeResult ResultOf(const SmimeVerification& verification);

// The field's value: "<authserv-id>; smime=<result>[ reason=\"...\"][
// body.smime-identifier=<address>]", the authserv-id and reason quoted
// when they are not RFC 2045 tokens. RFC 7281 registers smime-identifier
// under the "body" ptype (IANA's Email Authentication Methods registry), so
// "header.smime-identifier" would not be understood by AR parsers.
std::string SmimeAuthenticationResults(absl::string_view authserv_id,
                                       const SmimeVerification& verification);

// Whether an Authentication-Results value (as libmilter gives it, folding
// kept) starts with `authserv_id`: comments and folding skipped, a
// quoted-string unquoted, compared ignoring ASCII case. What follows the
// id (a version, results) is not looked at: a malformed field that names
// this host is removed too. An id that merely starts with ours
// ("mx1.bank.example.evil") is another host's.
bool ClaimsAuthservId(absl::string_view ar_value, absl::string_view authserv_id);

// The deletions of every Authentication-Results field in `headers` that
// claims `authserv_id`, highest index first.
std::vector<HeaderChange> DeleteForgedAuthenticationResults(const std::vector<HeaderField>& headers,
                                                            absl::string_view authserv_id);

}  // namespace signet::milter

#endif  // SIGNET_APPLIANCE_MILTER_AUTHENTICATION_RESULTS_H_
