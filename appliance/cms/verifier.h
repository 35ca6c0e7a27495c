// Verification of signed mails (multipart/signed or opaque signed-data)
// against a trust store.
//
// What is reported as signed is exactly the signed entity: never the outer
// header fields, a multipart/signed preamble or epilogue, or anything else
// outside the signature. A detached signature that also carries content of
// its own is refused, so a verifier and a reader can never be shown two
// different texts.
//
// The sender check (RFC 8550 §3): whether the address in the mail's outer
// From: field, the author a mail client shows, is one of a signer's
// certificate addresses. Without it, a mail signed by statements@bank.example
// whose From: was rewritten to support@evil.example verifies as before.
#ifndef SIGNET_APPLIANCE_CMS_VERIFIER_H_
#define SIGNET_APPLIANCE_CMS_VERIFIER_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "appliance/cms/cms_context.h"
#include "appliance/cms/mail_pieces.h"
#include "appliance/cms/trust_store.h"
#include "appliance/pki/validation_policy.h"

namespace signet::cms {

// Why a mail did not verify; carried by the error Status as a payload (see
// VerifyFailureOf) so that callers need not parse messages.
enum class VerifyFailure {
  kNotSigned,                  // not multipart/signed or pkcs7-mime signed-data
  kMalformed,                  // the MIME or CMS structure does not parse
  kEmbeddedContentInDetached,  // a detached signature that carries content
  kBadSignature,               // the signature does not match
  kContentChanged,             // the content's digest is not the signed one
  kUntrustedSigner,            // no chain to a trust anchor
  kExpiredSigner,              // a certificate in the chain has expired
  kSignerNotYetValid,          // a certificate in the chain is not valid yet
  kWrongPurpose,               // not a certificate for S/MIME signing
  kInvalidChain,               // any other chain failure
  kRevoked,                    // a certificate in the chain is revoked
  kRevocationUnknown,          // required revocation status not available
  kPolicy,                     // the chain does not satisfy the certificate policies
  kSenderMismatch,             // require_sender_match: From: is no signer's address
};

// "BAD_SIGNATURE", for logs and API details.
const char* VerifyFailureName(VerifyFailure failure);
std::optional<VerifyFailure> VerifyFailureOf(const absl::Status& status);

enum class ChainStatus { kTrusted, kUntrusted };

// A signature's RFC 3161 time-stamp as VerifyMail judged it.
enum class TimestampState {
  kNone,     // the signature carries no id-aa-timeStampToken
  kValid,    // over this signature, by a trusted TSA: the chain was judged at `time`
  kInvalid,  // a stamp that proves nothing (`detail` says why)
};

struct TimestampCheck {
  TimestampState state = TimestampState::kNone;
  absl::Time time = absl::InfinitePast();
  std::string tsa;
  std::string policy;
  std::string serial_hex;
  std::string detail;
};

// Judges a TimeStampToken (DER) as a stamp over `signature_value` (the
// SignerInfo's signature bytes): kValid or kInvalid with the facts read.
// Supplied by the caller, so that the CMS engine links no TSA code.
using TimestampChecker =
    std::function<TimestampCheck(absl::string_view token_der, absl::string_view signature_value)>;

struct SignerReport {
  std::string subject;  // RFC 2253
  std::string issuer;
  std::string serial_hex;
  std::vector<std::string> email_addresses;
  // The signingTime attribute, when the signer gave one (it is the signer's
  // claim, not a proof of time).
  std::optional<absl::Time> signing_time;
  std::string digest_algorithm;     // "SHA256"
  std::string signature_algorithm;  // "rsaEncryption", "RSASSA-PSS", "ecdsa-with-SHA256"
  ChainStatus chain_status = ChainStatus::kUntrusted;
  // Why the chain is not trusted (OpenSSL's verify error), empty if it is.
  std::string chain_detail;
  // Subjects from the signer up to the trust anchor, when a chain was built.
  std::vector<std::string> chain;
  // The revocation status of each certificate in `chain`, in the same
  // order; empty when revocation is not checked.
  std::vector<pki::RevocationResult> revocation;
  // Whether VerifiedMail::from_address is one of email_addresses, ignoring
  // ASCII case in the whole address; false when the mail has no single From:
  // address. Says nothing about trust: anyone can put any address into a
  // certificate of their own, so it means something only with a trusted
  // chain.
  bool from_matches_signer = false;
  // The signature's time-stamp. When kValid (and VerifyOptions.at is not
  // set) the chain, dates and revocation above were judged as of its time.
  TimestampCheck timestamp;
  // The signer's certificate (DER) and the SMIMECapabilities it advertised
  // in this signature (the attribute's DER value, RFC 8551 section 2.5.2;
  // empty when absent): what the certificate directory harvests.
  std::string certificate_der;
  std::string smime_capabilities_der;
};

struct VerifiedMail {
  // The signed MIME entity, canonical (CRLF): all that the signature covers.
  std::string signed_entity;
  bool opaque = false;
  std::vector<SignerReport> signers;
  // The addr-spec of the one mailbox in the one From: field of the outer
  // header ("statements@bank.example": display name, comments and needless
  // quotes gone), never of a header inside the signed entity or an attached
  // message. Empty when there is no such single address; from_problem then
  // says why, without quoting the mail.
  std::string from_address;
  std::string from_problem;
};

struct VerifyOptions {
  // The time the certificates must be valid at; absent: now.
  std::optional<absl::Time> at;
  // When false, a valid signature by an untrusted, expired or otherwise
  // unacceptable signer is returned (with its chain_status and
  // chain_detail) instead of refused.
  bool require_trusted_chain = true;
  // Revocation and certificate policies; null: neither is checked.
  const pki::ValidationPolicy* validation = nullptr;
  // Judges signatures' time-stamps; null: a stamp is reported kInvalid
  // ("no TSA trust anchors") and the chain is judged at `at` or now.
  TimestampChecker check_timestamp;
  // When true, a mail whose from_address matches no signer (including one
  // without a single From: address) is refused with kSenderMismatch, after
  // the signatures and chains have been checked.
  bool require_sender_match = false;
};

// Verifies `mail` (a whole mail or a signed MIME entity). InvalidArgument,
// with a VerifyFailure payload, for every way a mail can fail, and for one
// over the limits.
absl::StatusOr<VerifiedMail> VerifyMail(const CmsContext& context, absl::string_view mail,
                                        const TrustStore& trust, const VerifyOptions& options = {});

// VerifyMail's result with the signed entity as pieces: `report` is
// VerifyMail's without its signed_entity (left empty).
struct VerifiedOwnedMail {
  // A span of the mail when the signed entity is in canonical form there
  // already (a multipart/signed first part in CRLF), the mail kept for it;
  // else its own piece, the mail freed.
  MailPieces signed_entity;
  VerifiedMail report;
};

// VerifyMail for a mail the caller gives away (signetd), so that the
// result refers to the mail instead of copying what was signed.
absl::StatusOr<VerifiedOwnedMail> VerifyOwnedMail(const CmsContext& context, std::string mail,
                                                  const TrustStore& trust,
                                                  const VerifyOptions& options = {});

}  // namespace signet::cms

#endif  // SIGNET_APPLIANCE_CMS_VERIFIER_H_
