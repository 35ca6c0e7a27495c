#include "appliance/timestamp/timestamp_token.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "appliance/pki/chain_validation.h"
#include "common/asn1_text.h"
#include "common/asn1_time.h"
#include "common/ossl_ptr.h"

namespace signet::timestamp {
namespace {

constexpr std::pair<TokenStatus, const char*> kStatusNames[] = {
    {TokenStatus::kValid, "VALID"},
    {TokenStatus::kMalformed, "MALFORMED"},
    {TokenStatus::kOtherData, "OTHER_DATA"},
    {TokenStatus::kBadSignature, "BAD_SIGNATURE"},
    {TokenStatus::kUntrustedTsa, "UNTRUSTED_TSA"},
    {TokenStatus::kNotTimestampingCertificate, "NOT_TIMESTAMPING_CERTIFICATE"},
    {TokenStatus::kSigningCertificateMismatch, "SIGNING_CERTIFICATE_MISMATCH"},
    {TokenStatus::kTsaNameMismatch, "TSA_NAME_MISMATCH"},
    {TokenStatus::kNonceMismatch, "NONCE_MISMATCH"},
    {TokenStatus::kPolicyMismatch, "POLICY_MISMATCH"},
};

void FreeX509StackShallow(STACK_OF(X509) * stack) { sk_X509_free(stack); }
// A stack whose certificates belong to someone else.
using X509StackViewPtr = OsslPtr<STACK_OF(X509), FreeX509StackShallow>;

TokenVerification Verdict(TokenVerification result, TokenStatus status, std::string problem) {
  ERR_clear_error();
  result.status = status;
  result.problem = std::move(problem);
  return result;
}

std::optional<ImprintDigest> DigestOf(const X509_ALGOR* algorithm) {
  const ASN1_OBJECT* object = nullptr;
  X509_ALGOR_get0(&object, nullptr, nullptr, algorithm);
  switch (OBJ_obj2nid(object)) {
    case NID_sha256:
      return ImprintDigest::kSha256;
    case NID_sha384:
      return ImprintDigest::kSha384;
    case NID_sha512:
      return ImprintDigest::kSha512;
    default:
      return std::nullopt;
  }
}

// RFC 3161 section 2.3: the TSA's certificate "MUST contain only one
// instance of the extended key usage field extension ... with KeyPurposeID
// having value id-kp-timeStamping. This extension MUST be critical."
// OpenSSL's timestamp-signing purpose checks the same when it validates the
// chain, but a purpose check depends on how the store is set up (a trust
// setting on an anchor, or a changed default, can stand in for it); this
// one does not.
std::optional<std::string> TimestampingUsageProblem(X509* certificate) {
  int critical = -1;
  int index = -1;
  EXTENDED_KEY_USAGE* usage = static_cast<EXTENDED_KEY_USAGE*>(
      X509_get_ext_d2i(certificate, NID_ext_key_usage, &critical, &index));
  if (usage == nullptr) {
    ERR_clear_error();
    return critical == -2 ? "the TSA certificate has more than one extendedKeyUsage extension"
                          : "the TSA certificate has no extendedKeyUsage";
  }
  const int purposes = sk_ASN1_OBJECT_num(usage);
  const bool only_timestamping =
      purposes == 1 && OBJ_obj2nid(sk_ASN1_OBJECT_value(usage, 0)) == NID_time_stamp;
  sk_ASN1_OBJECT_pop_free(usage, ASN1_OBJECT_free);
  if (!only_timestamping) {
    return "the TSA certificate's extendedKeyUsage is not timeStamping alone";
  }
  if (critical != 1) {
    return "the TSA certificate's extendedKeyUsage timeStamping is not marked critical";
  }
  return std::nullopt;
}

// OpenSSL's reasons for refusing a token, as a status. It reports the first
// failed check only, in this order: the signer certificate's chain, the ESS
// signingCertificate, the signature, the version, the imprint, the tsa
// name.
TokenStatus StatusOfErrors(std::string* problem) {
  TokenStatus status = TokenStatus::kMalformed;
  std::string reasons;
  for (int i = 0; i < 8; ++i) {
    const char* data = nullptr;
    int flags = 0;
    const unsigned long code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags);
    if (code == 0) break;
    const int library = ERR_GET_LIB(code);
    const int reason = ERR_GET_REASON(code);
    char text[256];
    ERR_error_string_n(code, text, sizeof(text));
    const bool has_data = (flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0';
    absl::StrAppend(&reasons, reasons.empty() ? "" : "; ", text, has_data ? ": " : "",
                    has_data ? data : "");
    if (library == ERR_LIB_ESS) {
      status = TokenStatus::kSigningCertificateMismatch;
    } else if (library == ERR_LIB_TS) {
      switch (reason) {
        case TS_R_CERTIFICATE_VERIFY_ERROR:
          status = TokenStatus::kUntrustedTsa;
          break;
        case TS_R_ESS_SIGNING_CERTIFICATE_ERROR:
          status = TokenStatus::kSigningCertificateMismatch;
          break;
        case TS_R_SIGNATURE_FAILURE:
          status = TokenStatus::kBadSignature;
          break;
        case TS_R_MESSAGE_IMPRINT_MISMATCH:
          status = TokenStatus::kOtherData;
          break;
        case TS_R_TSA_NAME_MISMATCH:
          status = TokenStatus::kTsaNameMismatch;
          break;
        default:
          break;
      }
    }
  }
  ERR_clear_error();
  *problem = reasons.empty() ? "OpenSSL refused the token without a reason" : reasons;
  return status;
}

std::string Describe(TokenStatus status, const std::string& reasons) {
  switch (status) {
    case TokenStatus::kOtherData:
      return "the stamp is over other data";
    case TokenStatus::kUntrustedTsa:
      return absl::StrCat("the TSA is not trusted: ", reasons);
    case TokenStatus::kSigningCertificateMismatch:
      return absl::StrCat("the token's ESS signingCertificate does not name the TSA certificate: ",
                          reasons);
    case TokenStatus::kBadSignature:
      return absl::StrCat("the token's signature does not verify: ", reasons);
    case TokenStatus::kTsaNameMismatch:
      return "the token's tsa field does not name its signer";
    default:
      return absl::StrCat("the token is not acceptable: ", reasons);
  }
}

}  // namespace

const char* ImprintDigestName(ImprintDigest digest) {
  switch (digest) {
    case ImprintDigest::kSha384:
      return "SHA384";
    case ImprintDigest::kSha512:
      return "SHA512";
    case ImprintDigest::kSha256:
      break;
  }
  return "SHA256";
}

const char* TokenStatusName(TokenStatus status) {
  for (const auto& [value, name] : kStatusNames) {
    if (value == status) return name;
  }
  return "UNKNOWN";
}

absl::StatusOr<TokenVerification> VerifyTimestampToken(absl::string_view token_der,
                                                       absl::string_view stamped_data,
                                                       const std::vector<X509*>& anchors,
                                                       const TokenVerifyOptions& options) {
  ERR_clear_error();
  TokenVerification result;
  result.facts.token_der = std::string(token_der);

  // OpenSSL's template decoder bounds its own nesting (30 levels), and a
  // token is small; no walk of our own before it.
  const auto* cursor = reinterpret_cast<const unsigned char*>(token_der.data());
  Pkcs7Ptr token(d2i_PKCS7(nullptr, &cursor, static_cast<long>(token_der.size())));
  if (!token)
    return Verdict(std::move(result), TokenStatus::kMalformed, "the token does not parse");
  if (cursor != reinterpret_cast<const unsigned char*>(token_der.data()) + token_der.size()) {
    return Verdict(std::move(result), TokenStatus::kMalformed, "bytes follow the token");
  }
  TsTstInfoPtr info(PKCS7_to_TS_TST_INFO(token.get()));
  if (!info) {
    return Verdict(std::move(result), TokenStatus::kMalformed,
                   "not a TimeStampToken: no SignedData over a TSTInfo");
  }
  TimestampFacts& facts = result.facts;
  const std::optional<absl::Time> gen_time = TimeOf(TS_TST_INFO_get_time(info.get()));
  if (!gen_time.has_value()) {
    return Verdict(std::move(result), TokenStatus::kMalformed,
                   "the token's genTime does not parse");
  }
  facts.gen_time = *gen_time;
  facts.policy_oid = DottedOid(TS_TST_INFO_get_policy_id(info.get()));
  facts.serial_hex = IntegerHex(TS_TST_INFO_get_serial(info.get()));
  const std::optional<ImprintDigest> digest =
      DigestOf(TS_MSG_IMPRINT_get_algo(TS_TST_INFO_get_msg_imprint(info.get())));
  if (!digest.has_value()) {
    return Verdict(std::move(result), TokenStatus::kMalformed,
                   "the token's imprint is not SHA-256, SHA-384 or SHA-512");
  }
  facts.digest = *digest;
  const GENERAL_NAME* tsa = TS_TST_INFO_get_tsa(info.get());
  if (tsa != nullptr && tsa->type == GEN_DIRNAME) facts.tsa_name = pki::NameText(tsa->d.dirn);

  X509StackPtr untrusted(sk_X509_new_null());
  if (!untrusted) return absl::ResourceExhaustedError("cannot allocate a certificate stack");
  for (X509* certificate : options.untrusted) {
    if (X509_add_cert(untrusted.get(), certificate, X509_ADD_FLAG_UP_REF) != 1) {
      return absl::ResourceExhaustedError("cannot allocate a certificate stack");
    }
  }
  // RFC 3161 section 2.4.2: the TSA's signature and no other.
  if (sk_PKCS7_SIGNER_INFO_num(PKCS7_get_signer_info(token.get())) != 1) {
    return Verdict(std::move(result), TokenStatus::kMalformed,
                   "the token does not have exactly one signer");
  }
  X509StackViewPtr signers(PKCS7_get0_signers(token.get(), untrusted.get(), 0));
  if (!signers || sk_X509_num(signers.get()) != 1) {
    return Verdict(std::move(result), TokenStatus::kMalformed,
                   "the TSA certificate is neither in the token nor given");
  }
  X509* signer = sk_X509_value(signers.get(), 0);
  if (facts.tsa_name.empty()) facts.tsa_name = pki::NameText(X509_get_subject_name(signer));
  if (std::optional<std::string> problem = TimestampingUsageProblem(signer)) {
    return Verdict(std::move(result), TokenStatus::kNotTimestampingCertificate,
                   std::move(*problem));
  }
  if (options.digest.has_value() && *options.digest != facts.digest) {
    return Verdict(
        std::move(result), TokenStatus::kOtherData,
        absl::StrCat("the stamp is over a ", ImprintDigestName(facts.digest), " imprint, not the ",
                     ImprintDigestName(*options.digest), " one asked for"));
  }

  // The chain is checked at genTime, not now: a stamp's worth is that the
  // TSA, trusted then, vouched for the time then. A TSA certificate that has
  // expired since does not undo its earlier stamps (RFC 3161 section 4,
  // "the TSA's certificate ... may expire"; keeping old stamps alive past
  // the TSA's key is archive renewal's job, RFC 4998). For a fresh stamp
  // genTime is now, so the client's check is the same as one at now; a TSA
  // that claims a genTime outside its certificate's validity fails. The
  // TSA certificate's revocation is not checked here.
  X509StorePtr store(X509_STORE_new());
  if (!store) return absl::ResourceExhaustedError("cannot allocate a certificate store");
  for (X509* anchor : anchors) {
    if (X509_STORE_add_cert(store.get(), anchor) != 1) {
      return absl::ResourceExhaustedError("cannot add a TSA trust anchor");
    }
  }
  X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store.get()), absl::ToTimeT(facts.gen_time));

  // What TS_RESP_verify_token checks with these flags (ts_rsp_verify.c):
  // SIGNATURE: one signer, the signer certificate found in the token (or
  // the given certificates), its chain to the store with the
  // timestamp-signing purpose, the ESS signingCertificate or
  // signingCertificateV2 present and naming that certificate first (and
  // any further certificates it names in the chain), the signature itself
  // (content digest and signed attributes). VERSION: TSTInfo version 1.
  // DATA: the imprint of `stamped_data` under the token's own hash
  // algorithm. SIGNER: a tsa field, when present,
  // names the signer certificate. Its NONCE and POLICY checks take their
  // values from a TS_REQ only (OpenSSL 3.0 has no setters for them), it
  // does not restrict the imprint's algorithm, and it leaves the
  // extendedKeyUsage to the purpose check: those are checked here.
  TsVerifyCtxPtr context(TS_VERIFY_CTX_new());
  if (!context) return absl::ResourceExhaustedError("cannot allocate a TS_VERIFY_CTX");
  const int flags = TS_VFY_SIGNATURE | TS_VFY_VERSION | TS_VFY_DATA | TS_VFY_SIGNER;
  TS_VERIFY_CTX_set_store(context.get(), store.release());
  TS_VERIFY_CTX_set_certs(context.get(), untrusted.release());
  BioPtr data = ReadBio(stamped_data);
  if (!data) return absl::ResourceExhaustedError("cannot allocate a BIO");
  TS_VERIFY_CTX_set_data(context.get(), data.release());
  TS_VERIFY_CTX_set_flags(context.get(), flags);
  if (TS_RESP_verify_token(context.get(), token.get()) != 1) {
    std::string reasons;
    const TokenStatus status = StatusOfErrors(&reasons);
    return Verdict(std::move(result), status, Describe(status, reasons));
  }
  if (options.nonce.has_value()) {
    const ASN1_INTEGER* nonce = TS_TST_INFO_get_nonce(info.get());
    uint64_t value = 0;
    if (nonce == nullptr || ASN1_INTEGER_get_uint64(&value, nonce) != 1 ||
        value != *options.nonce) {
      return Verdict(std::move(result), TokenStatus::kNonceMismatch,
                     "the token does not carry the request's nonce");
    }
  }
  if (options.policy_oid.has_value() && *options.policy_oid != facts.policy_oid) {
    return Verdict(std::move(result), TokenStatus::kPolicyMismatch,
                   absl::StrCat("the stamp was made under policy ", facts.policy_oid, ", not the ",
                                *options.policy_oid, " asked for"));
  }
  result.status = TokenStatus::kValid;
  return result;
}

}  // namespace signet::timestamp
