#include "appliance/pki/revocation_check.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "appliance/pki/validation_policy.h"
#include "common/asn1_time.h"

namespace signet::pki {
namespace {

// The check attached to the verification running on this thread (see
// RevocationCheck::Attach).
thread_local RevocationCheck* attached_check = nullptr;

int CheckIndex() {
  static const int index = X509_STORE_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// The errors that mean "no usable CRL answered for this certificate":
// none found, or the ones found cannot be relied on. Each is a question
// left open, which the policy decides; a listed certificate is not among
// them.
bool IsUnanswered(int error) {
  switch (error) {
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
    case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
    case X509_V_ERR_DIFFERENT_CRL_SCOPE:
    case X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION:
    case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
    case X509_V_ERR_CRL_PATH_VALIDATION_ERROR:
      return true;
    default:
      return false;
  }
}

// RFC 5280 section 5.3.1.
const char* ReasonName(long code) {
  switch (code) {
    case 0:
      return "unspecified";
    case 1:
      return "keyCompromise";
    case 2:
      return "cACompromise";
    case 3:
      return "affiliationChanged";
    case 4:
      return "superseded";
    case 5:
      return "cessationOfOperation";
    case 6:
      return "certificateHold";
    case 8:
      return "removeFromCRL";
    case 9:
      return "privilegeWithdrawn";
    case 10:
      return "aACompromise";
    default:
      return "unknown reason";
  }
}

// GOOD and REVOKED settle a certificate; UNKNOWN and no answer leave the
// question to the CRLs and the mode.
bool Decides(const OcspAnswer& answer) {
  return answer.status == OcspStatus::kGood || answer.status == OcspStatus::kRevoked;
}

// The problems that make a CRL no authority on the certificate at all, as
// opposed to a stale one (an expired CRL's entries stay revoked).
bool MakesCrlUnusable(int error) {
  switch (error) {
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_DIFFERENT_CRL_SCOPE:
    case X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION:
    case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
    case X509_V_ERR_CRL_PATH_VALIDATION_ERROR:
      return true;
    default:
      return false;
  }
}

// Reasons that say nothing about the key before the revocation date
// (RFC 5280 section 5.3.1): affiliationChanged, superseded,
// cessationOfOperation, privilegeWithdrawn. A signature made (and proved,
// by a time-stamp) before such a revocation is unaffected by it; a
// compromise, a hold or an unspecified reason might reach back further.
bool LeavesEarlierSignaturesValid(long reason) {
  return reason == 3 || reason == 4 || reason == 5 || reason == 9;
}

// A verification as of a time other than now: nothing is remembered or
// taken from the memo, which speaks for now.
bool UsesCheckTime(const X509_STORE_CTX* context) {
  const X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(const_cast<X509_STORE_CTX*>(context));
  return (X509_VERIFY_PARAM_get_flags(param) & X509_V_FLAG_USE_CHECK_TIME) != 0;
}

// The issuer of the chain's certificate at `depth` (the anchor is its own).
X509* IssuerAt(const X509_STORE_CTX* context, int depth) {
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(context);
  if (chain == nullptr || sk_X509_num(chain) == 0) return nullptr;
  return sk_X509_value(chain, std::min(depth + 1, sk_X509_num(chain) - 1));
}

}  // namespace

const char* RevocationStateName(RevocationState state) {
  switch (state) {
    case RevocationState::kNotChecked:
      return "NOT_CHECKED";
    case RevocationState::kGood:
      return "GOOD";
    case RevocationState::kRevoked:
      return "REVOKED";
    case RevocationState::kUnknown:
      return "UNKNOWN";
  }
  return "UNKNOWN";
}

void UseRevocationLookup(X509_STORE* store) {
  X509_STORE_set_lookup_crls(store, &RevocationCheck::LookupCrls);
}

RevocationCheck::~RevocationCheck() {
  if (attached_) attached_check = previous_;
}

void RevocationCheck::Attach(X509_STORE_CTX* context) {
  if (!attached_) {
    attached_ = true;
    previous_ = attached_check;
    attached_check = this;
  }
  X509_STORE_CTX_set_ex_data(context, CheckIndex(), this);
  X509_STORE_CTX_set_flags(context, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL |
                                        X509_V_FLAG_EXTENDED_CRL_SUPPORT | X509_V_FLAG_USE_DELTAS);
  X509_STORE_CTX_set_verify_cb(context, &VerifyCallback);
}

STACK_OF(X509_CRL) * RevocationCheck::LookupCrls(const X509_STORE_CTX* context,
                                                 const X509_NAME* name) {
  auto* check = static_cast<RevocationCheck*>(X509_STORE_CTX_get_ex_data(context, CheckIndex()));
  if (check == nullptr) {
    // The verification OpenSSL starts for an indirect CRL issuer's path
    // copies the callback but not the ex_data.
    if (X509_STORE_CTX_get_verify_cb(context) == &VerifyCallback && attached_check != nullptr) {
      return CrlIssuerPathCrls(*attached_check, context, name);
    }
    return X509_STORE_CTX_get1_crls(context, name);
  }
  if (check->policy_.crls == nullptr && check->policy_.ocsp == nullptr) {
    return X509_STORE_CTX_get1_crls(context, name);
  }
  STACK_OF(X509_CRL)* crls = sk_X509_CRL_new_null();
  if (crls == nullptr) return nullptr;
  // The chain is complete when revocation is checked: a chain to an anchor
  // whose revocation is off fetches nothing.
  if (check->AnchorMode(context) == RevocationMode::kOff) return crls;
  X509* certificate = X509_STORE_CTX_get_current_cert(context);
  const int depth_index = X509_STORE_CTX_get_error_depth(context);
  if (check->policy_.order == RevocationOrder::kOcspFirst) {
    // A definite OCSP answer leaves the CRLs unfetched; the "unable to get
    // CRL" that follows is settled in VerifyCallback.
    if (const OcspAnswer* answer = check->AskOcsp(context, depth_index);
        answer != nullptr && Decides(*answer)) {
      return crls;
    }
  }
  Depth& depth = check->depths_[depth_index];
  if (check->policy_.crls == nullptr || depth.crl_memo) return crls;
  CrlStore& store = *check->policy_.crls;
  std::vector<SourcedCrl> found_crls = store.CrlsFor(certificate, name);
  if (!depth.crls_taken) {
    depth.crls_taken = true;
    if (!UsesCheckTime(context)) {
      depth.memo_key = CrlAnswerKey(certificate, IssuerAt(context, depth_index), found_crls);
      if (std::optional<CrlStore::GoodAnswer> good = store.RememberedGood(depth.memo_key)) {
        // The same CRLs said so before: the "unable to get CRL" that
        // follows is settled in VerifyCallback.
        depth.crl_memo = true;
        depth.sources = std::move(good->sources);
        depth.this_update = good->this_update;
        return crls;
      }
    }
  }
  for (SourcedCrl& found : found_crls) {
    if (X509_NAME_cmp(X509_CRL_get_issuer(found.crl.get()), name) != 0) depth.indirect = true;
    // OpenSSL asks again for each reason partition still open.
    if (!absl::StrContains(depth.sources, found.source)) {
      if (!depth.sources.empty()) depth.sources += ", ";
      depth.sources += found.source;
    }
    if (auto this_update = TimeOf(X509_CRL_get0_lastUpdate(found.crl.get()))) {
      if (!depth.this_update.has_value() || *depth.this_update < *this_update) {
        depth.this_update = this_update;
      }
    }
    if (auto next_update = TimeOf(X509_CRL_get0_nextUpdate(found.crl.get()))) {
      if (!depth.next_update.has_value() || *next_update < *depth.next_update) {
        depth.next_update = next_update;
      }
    } else {
      depth.next_update_missing = true;
    }
    if (sk_X509_CRL_push(crls, found.crl.get()) > 0) (void)found.crl.release();
  }
  return crls;
}

void RevocationCheck::RememberAnswers(X509_STORE_CTX* context) const {
  if (policy_.crls == nullptr || UsesCheckTime(context)) return;
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(context);
  const int anchor = chain == nullptr ? 0 : sk_X509_num(chain) - 1;
  for (const auto& [index, depth] : depths_) {
    // Only what the CRLs themselves settled as good, in full.
    if (index >= anchor || depth.crl_memo || depth.ocsp_decided || depth.revoked ||
        depth.indirect || !depth.unknown.empty() || depth.memo_key.empty() ||
        depth.sources.empty() || !depth.next_update.has_value() || depth.next_update_missing) {
      continue;
    }
    policy_.crls->RememberGood(depth.memo_key, {depth.sources, depth.this_update},
                               *depth.next_update);
  }
}

STACK_OF(X509_CRL) * RevocationCheck::CrlIssuerPathCrls(const RevocationCheck& outer,
                                                        const X509_STORE_CTX* context,
                                                        const X509_NAME* name) {
  STACK_OF(X509_CRL)* crls = sk_X509_CRL_new_null();
  if (crls == nullptr || outer.policy_.crls == nullptr) return crls;
  for (SourcedCrl& found :
       outer.policy_.crls->CrlsFor(X509_STORE_CTX_get_current_cert(context), name)) {
    if (sk_X509_CRL_push(crls, found.crl.get()) > 0) (void)found.crl.release();
  }
  return crls;
}

int RevocationCheck::CrlIssuerPathCallback(int ok, X509_STORE_CTX* context) {
  // The anchor is trusted as configured, as in the chain itself; anything
  // else this path leaves unanswered makes the CRL no answer.
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(context);
  if (IsUnanswered(X509_STORE_CTX_get_error(context)) && chain != nullptr &&
      X509_STORE_CTX_get_error_depth(context) == sk_X509_num(chain) - 1) {
    return 1;
  }
  return ok;
}

int RevocationCheck::VerifyCallback(int ok, X509_STORE_CTX* context) {
  if (ok) return ok;
  auto* check = static_cast<RevocationCheck*>(X509_STORE_CTX_get_ex_data(context, CheckIndex()));
  if (check == nullptr) return attached_check != nullptr ? CrlIssuerPathCallback(ok, context) : ok;
  const int error = X509_STORE_CTX_get_error(context);
  const int depth_index = X509_STORE_CTX_get_error_depth(context);
  if (error == X509_V_ERR_CRL_NOT_YET_VALID || error == X509_V_ERR_CRL_HAS_EXPIRED) {
    // OpenSSL forgets the current CRL once its time check is done, before
    // it reads the CRL's entries: kept to find a listed entry's date and
    // reason.
    check->depths_[depth_index].crl_with_time_problem = X509_STORE_CTX_get0_current_crl(context);
  }
  if (error == X509_V_ERR_CRL_NOT_YET_VALID && UsesCheckTime(context)) {
    // Judged as of an earlier time (a time-stamp's): a CRL issued since
    // still lists every revocation up to its thisUpdate, with its date, so
    // it answers for that time too (a revocation after it is weighed in
    // the CERT_REVOKED branch below). Not one dated in the future.
    const X509_CRL* crl = X509_STORE_CTX_get0_current_crl(context);
    if (crl != nullptr && X509_cmp_time(X509_CRL_get0_lastUpdate(crl), nullptr) <= 0) return 1;
  }
  if (IsUnanswered(error)) {
    if (check->depths_[depth_index].crl_memo) return 1;
    if (MakesCrlUnusable(error)) {
      Depth& depth = check->depths_[depth_index];
      const X509_CRL* current = X509_STORE_CTX_get0_current_crl(context);
      depth.unusable_crls.push_back(current != nullptr ? current : depth.crl_with_time_problem);
    }
    // OCSP-first: answered already (memoized); CRL-first: asked now.
    const OcspAnswer* answer = check->AskOcsp(context, depth_index);
    Depth& depth = check->depths_[depth_index];
    if (answer != nullptr && Decides(*answer)) {
      depth.ocsp_decided = true;
      if (answer->status == OcspStatus::kGood) return 1;
      if (UsesCheckTime(context) && answer->revoked_at.has_value() &&
          LeavesEarlierSignaturesValid(answer->reason) &&
          *answer->revoked_at >
              absl::FromTimeT(X509_VERIFY_PARAM_get_time(X509_STORE_CTX_get0_param(context)))) {
        depth.revoked_later = true;
        depth.revoked_at = answer->revoked_at;
        depth.revocation_reason = ReasonName(answer->reason);
        return 1;
      }
      depth.revoked = true;
      depth.revoked_at = answer->revoked_at;
      depth.revocation_reason = answer->reason >= 0 ? ReasonName(answer->reason) : "";
      X509_STORE_CTX_set_error(context, X509_V_ERR_CERT_REVOKED);
      return 0;
    }
    if (depth.unknown.empty()) depth.unknown = X509_verify_cert_error_string(error);
    return 1;
  }
  Depth& depth = check->depths_[depth_index];
  if (error == X509_V_ERR_CERT_REVOKED) {
    // OpenSSL goes on to read the entries of a CRL whose problem the
    // callback let pass; one that is not authoritative for the certificate
    // (out of scope, not the issuer's, a signature that fails) lists
    // nothing for it (RFC 5280 section 6.3.3). The question stays open.
    const X509_CRL* current = X509_STORE_CTX_get0_current_crl(context);
    if (current == nullptr) current = depth.crl_with_time_problem;
    if (current != nullptr && std::find(depth.unusable_crls.begin(), depth.unusable_crls.end(),
                                        current) != depth.unusable_crls.end()) {
      return 1;
    }
    // A CRL listing the certificate; it decides even after an OCSP GOOD
    // (CRL-first, the first CRL having given no answer).
    X509_REVOKED* entry = nullptr;
    X509_CRL* crl = const_cast<X509_CRL*>(current);
    X509* certificate = X509_STORE_CTX_get_current_cert(context);
    std::optional<absl::Time> revoked_at;
    long reason_code = -1;
    if (crl != nullptr && certificate != nullptr &&
        X509_CRL_get0_by_cert(crl, &entry, certificate) == 1 && entry != nullptr) {
      revoked_at = TimeOf(X509_REVOKED_get0_revocationDate(entry));
      if (auto* reason = static_cast<ASN1_ENUMERATED*>(
              X509_REVOKED_get_ext_d2i(entry, NID_crl_reason, nullptr, nullptr))) {
        reason_code = ASN1_ENUMERATED_get(reason);
        ASN1_ENUMERATED_free(reason);
      }
    }
    ERR_clear_error();
    // Judged as of an earlier time (a time-stamp's): a revocation after it,
    // for a reason that does not reach back, had not happened then.
    if (UsesCheckTime(context) && revoked_at.has_value() &&
        LeavesEarlierSignaturesValid(reason_code)) {
      const time_t check_time = X509_VERIFY_PARAM_get_time(X509_STORE_CTX_get0_param(context));
      if (*revoked_at > absl::FromTimeT(check_time)) {
        depth.revoked_later = true;
        depth.revoked_at = revoked_at;
        depth.revocation_reason = ReasonName(reason_code);
        return 1;
      }
    }
    depth.ocsp_decided = false;
    depth.revoked = true;
    depth.revoked_at = revoked_at;
    if (reason_code >= 0) depth.revocation_reason = ReasonName(reason_code);
  }
  return ok;
}

const OcspAnswer* RevocationCheck::AskOcsp(const X509_STORE_CTX* context, int depth_index) {
  if (policy_.ocsp == nullptr || AnchorMode(context) == RevocationMode::kOff) return nullptr;
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(context);
  // The anchor (the last certificate) is not checked, and has no issuer in
  // the chain to ask about it with.
  if (chain == nullptr || depth_index < 0 || depth_index + 1 >= sk_X509_num(chain)) return nullptr;
  auto found = depths_.find(depth_index);
  if (found == depths_.end() || !found->second.ocsp_asked) {
    X509* certificate = sk_X509_value(chain, depth_index);
    if (policy_.ocsp->ResponderFor(certificate).empty()) return nullptr;
    Depth& depth = depths_[depth_index];
    depth.ocsp_asked = true;
    depth.ocsp = policy_.ocsp->Check(certificate, sk_X509_value(chain, depth_index + 1),
                                     X509_STORE_CTX_get0_store(context), chain);
    return &depth.ocsp;
  }
  return &found->second.ocsp;
}

RevocationMode RevocationCheck::AnchorMode(const X509_STORE_CTX* context) {
  if (!anchor_mode_.has_value()) {
    STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(context);
    anchor_mode_ = chain != nullptr && sk_X509_num(chain) > 0
                       ? policy_.ModeFor(sk_X509_value(chain, sk_X509_num(chain) - 1))
                       : policy_.revocation;
  }
  return *anchor_mode_;
}

std::vector<RevocationResult> RevocationCheck::Results(X509_STORE_CTX* context) const {
  std::vector<RevocationResult> results;
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(context);
  const int length = chain == nullptr ? 0 : sk_X509_num(chain);
  for (int i = 0; i < length; ++i) {
    RevocationResult result;
    auto found = depths_.find(i);
    const bool anchor = i == length - 1;
    if (found != depths_.end()) {
      const Depth& depth = found->second;
      result.source = depth.sources;
      result.this_update = depth.this_update;
      const std::string ocsp_source = absl::StrCat("ocsp ", depth.ocsp.responder);
      if (depth.ocsp_decided) {
        result.source = ocsp_source;
        result.this_update = depth.ocsp.this_update;
      } else if (depth.ocsp_asked) {
        result.source =
            depth.sources.empty() ? ocsp_source : absl::StrCat(ocsp_source, ", ", depth.sources);
      }
      if (depth.revoked) {
        result.state = RevocationState::kRevoked;
        result.revoked_at = depth.revoked_at;
        result.reason = depth.revocation_reason;
      } else if (anchor) {
        result.state = RevocationState::kNotChecked;
      } else if (depth.revoked_later && depth.unknown.empty()) {
        // Good at the time judged; what happened after is said.
        result.state = RevocationState::kGood;
        result.revoked_at = depth.revoked_at;
        result.reason =
            absl::StrCat("revoked after the time judged (", depth.revocation_reason, ")");
      } else if (!depth.unknown.empty()) {
        result.state = RevocationState::kUnknown;
        result.reason = depth.unknown;
        if (depth.ocsp_asked && !depth.ocsp_decided) {
          result.reason = absl::StrCat("OCSP: ",
                                       depth.ocsp.status == OcspStatus::kUnknown
                                           ? "the responder does not know the certificate"
                                           : depth.ocsp.error,
                                       "; CRL: ", depth.unknown);
        }
      } else {
        result.state = RevocationState::kGood;
      }
    } else if (!anchor) {
      // Not looked at: validation stopped before revocation was reached.
      result.state = RevocationState::kNotChecked;
    }
    results.push_back(std::move(result));
  }
  return results;
}

}  // namespace signet::pki
