#include "appliance/pki/chain_validation.h"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/ossl_ptr.h"

namespace signet::pki {
namespace {

ChainFailure FailureOf(int error) {
  switch (error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return ChainFailure::kExpired;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return ChainFailure::kNotYetValid;
    case X509_V_ERR_INVALID_PURPOSE:
      return ChainFailure::kWrongPurpose;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
      return ChainFailure::kUntrusted;
    case X509_V_ERR_CERT_REVOKED:
      return ChainFailure::kRevoked;
    case X509_V_ERR_NO_EXPLICIT_POLICY:
    case X509_V_ERR_INVALID_POLICY_EXTENSION:
      return ChainFailure::kPolicy;
    default:
      return ChainFailure::kInvalid;
  }
}

// After a chain validated: what its anchor's revocation mode makes of the
// questions left open. Off: nothing was asked. Prefer: reported. Require:
// the first open one refuses the chain.
void CheckRevocationAnswers(RevocationMode mode, ChainResult& result) {
  if (result.revocation.empty()) return;
  if (mode == RevocationMode::kOff) {
    for (RevocationResult& answer : result.revocation) answer = {};
    return;
  }
  if (mode != RevocationMode::kRequire) return;
  for (size_t i = 0; i < result.revocation.size(); ++i) {
    const RevocationResult& answer = result.revocation[i];
    if (answer.state != RevocationState::kUnknown) continue;
    if (i < result.chain.size()) result.failed_subject = result.chain[i];
    result.detail =
        absl::StrCat("the revocation status of ", result.failed_subject, " is unknown (",
                     answer.reason, ") and the trust anchor's policy requires it");
    result.failure = ChainFailure::kRevocationUnknown;
    return;
  }
}

// `untrusted` and the policy's CRL issuers, when revocation is checked and
// there are any; null when `untrusted` serves as it is.
X509StackPtr WithCrlIssuers(STACK_OF(X509) * untrusted, const ValidationPolicy* validation) {
  if (validation == nullptr || validation->crl_issuers == nullptr ||
      validation->crl_issuers->empty() || !validation->ChecksRevocation()) {
    return nullptr;
  }
  X509StackPtr combined(untrusted != nullptr ? X509_chain_up_ref(untrusted) : sk_X509_new_null());
  if (!combined) return nullptr;
  for (const X509Ptr& issuer : *validation->crl_issuers) {
    if (X509_add_cert(combined.get(), issuer.get(), X509_ADD_FLAG_UP_REF | X509_ADD_FLAG_NO_DUP) !=
        1) {
      return nullptr;
    }
  }
  return combined;
}

}  // namespace

std::string NameText(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return {};
  return BioContents(bio.get());
}

ChainResult ValidateChain(X509_STORE* trust, X509* certificate, STACK_OF(X509) * untrusted,
                          const ChainOptions& options) {
  ChainResult result;
  // Outlives the verification, which keeps a pointer to it.
  X509StackPtr with_crl_issuers = WithCrlIssuers(untrusted, options.validation);
  if (with_crl_issuers) untrusted = with_crl_issuers.get();
  X509StoreCtxPtr context(X509_STORE_CTX_new_ex(options.libctx, nullptr));
  if (!context || X509_STORE_CTX_init(context.get(), trust, certificate, untrusted) != 1 ||
      (options.purpose != 0 && !options.purpose_for_cas_only &&
       X509_STORE_CTX_set_purpose(context.get(), options.purpose) != 1)) {
    ERR_clear_error();
    result.failure = ChainFailure::kInvalid;
    result.detail = "cannot set up chain verification";
    return result;
  }
  if (options.at.has_value()) X509_STORE_CTX_set_time(context.get(), 0, absl::ToTimeT(*options.at));
  std::optional<RevocationCheck> revocation;
  if (options.validation != nullptr) {
    if (absl::Status applied = options.validation->ApplyPolicies(context.get()); !applied.ok()) {
      result.failure = ChainFailure::kInvalid;
      result.detail = std::string(applied.message());
      return result;
    }
    if (options.validation->ChecksRevocation()) {
      revocation.emplace(*options.validation);
      revocation->Attach(context.get());
    }
  }
  const bool trusted = X509_verify_cert(context.get()) == 1;
  ERR_clear_error();
  if (STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(context.get()); chain != nullptr) {
    for (int i = 0; i < sk_X509_num(chain); ++i) {
      result.chain.push_back(NameText(X509_get_subject_name(sk_X509_value(chain, i))));
    }
  }
  if (revocation.has_value()) result.revocation = revocation->Results(context.get());
  if (trusted && options.purpose_for_cas_only && options.purpose != 0) {
    // As X509_verify_cert would have: every certificate above the first,
    // the anchor included, must be a CA for the purpose.
    STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(context.get());
    for (int i = 1; i < sk_X509_num(chain); ++i) {
      if (X509_check_purpose(sk_X509_value(chain, i), options.purpose, /*ca=*/1) == 0) {
        ERR_clear_error();
        result.failure = ChainFailure::kWrongPurpose;
        result.failed_subject = result.chain[i];
        result.detail = X509_verify_cert_error_string(X509_V_ERR_INVALID_PURPOSE);
        return result;
      }
    }
  }
  if (trusted) {
    if (revocation.has_value()) {
      revocation->RememberAnswers(context.get());
      CheckRevocationAnswers(revocation->AnchorMode(context.get()), result);
    }
    return result;
  }
  const int error = X509_STORE_CTX_get_error(context.get());
  result.failure = FailureOf(error);
  result.detail = X509_verify_cert_error_string(error);
  if (X509* failed = X509_STORE_CTX_get_current_cert(context.get()); failed != nullptr) {
    result.failed_subject = NameText(X509_get_subject_name(failed));
  }
  return result;
}

}  // namespace signet::pki
