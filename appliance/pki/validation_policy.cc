#include "appliance/pki/validation_policy.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/ossl_ptr.h"

namespace signet::pki {

std::string Sha256Fingerprint(X509* certificate) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (certificate == nullptr || X509_digest(certificate, EVP_sha256(), digest, &length) != 1) {
    ERR_clear_error();
    return {};
  }
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), length));
}

RevocationMode ValidationPolicy::ModeFor(X509* anchor) const {
  if (!anchor_revocation.empty()) {
    auto found = anchor_revocation.find(Sha256Fingerprint(anchor));
    if (found != anchor_revocation.end()) return found->second;
  }
  return revocation;
}

bool ValidationPolicy::ChecksRevocation() const {
  if (revocation != RevocationMode::kOff) return true;
  for (const auto& [anchor, mode] : anchor_revocation) {
    if (mode != RevocationMode::kOff) return true;
  }
  return false;
}

namespace {

int PolicyIndex() {
  static const int index = X509_STORE_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

absl::Status SetPolicies(const CertificatePolicies& policies, X509_VERIFY_PARAM* param) {
  // Policy processing always: a chain whose own certificates demand an
  // explicit policy (policyConstraints) is judged as RFC 5280 says even
  // when the configuration asks for nothing.
  X509_VERIFY_PARAM_clear_flags(
      param, X509_V_FLAG_EXPLICIT_POLICY | X509_V_FLAG_INHIBIT_ANY | X509_V_FLAG_INHIBIT_MAP);
  unsigned long flags = X509_V_FLAG_POLICY_CHECK;
  if (policies.require_explicit) flags |= X509_V_FLAG_EXPLICIT_POLICY;
  if (policies.inhibit_any) flags |= X509_V_FLAG_INHIBIT_ANY;
  if (policies.inhibit_mapping) flags |= X509_V_FLAG_INHIBIT_MAP;
  X509_VERIFY_PARAM_set_flags(param, flags);
  Asn1ObjectStackPtr oids(sk_ASN1_OBJECT_new_null());
  if (!oids) return absl::ResourceExhaustedError("cannot set the acceptable policies");
  // RFC 5280 section 6.1.1 (c): no acceptable policies means any-policy.
  // Said explicitly, because OpenSSL's policy check otherwise treats an
  // empty user set as no policy at all and refuses a chain that must have
  // an explicit policy even when its certificates assert one
  // ("no explicit policy", `openssl verify` without -policy does the same).
  static const std::vector<std::string> kAnyPolicy = {"2.5.29.32.0"};
  for (const std::string& oid : policies.acceptable.empty() ? kAnyPolicy : policies.acceptable) {
    ASN1_OBJECT* policy = OBJ_txt2obj(oid.c_str(), /*no_name=*/1);
    if (policy == nullptr) {
      ERR_clear_error();
      return absl::InvalidArgumentError(absl::StrCat("'", oid, "' is not a policy OID"));
    }
    if (sk_ASN1_OBJECT_push(oids.get(), policy) <= 0) {
      ASN1_OBJECT_free(policy);
      return absl::ResourceExhaustedError("cannot set the acceptable policies");
    }
  }
  if (X509_VERIFY_PARAM_set1_policies(param, oids.get()) != 1) {
    ERR_clear_error();
    return absl::InternalError("cannot set the acceptable policies");
  }
  return absl::OkStatus();
}

using CheckPolicyFn = int (*)(X509_STORE_CTX*);

// OpenSSL's own policy check, which a store hook replaces: read off a
// context of a store without hooks.
CheckPolicyFn DefaultCheckPolicy() {
  static const CheckPolicyFn check = [] {
    X509StorePtr store(X509_STORE_new());
    X509StoreCtxPtr context(X509_STORE_CTX_new());
    if (!store || !context ||
        X509_STORE_CTX_init(context.get(), store.get(), nullptr, nullptr) != 1) {
      ERR_clear_error();
      return static_cast<CheckPolicyFn>(nullptr);
    }
    return static_cast<CheckPolicyFn>(X509_STORE_CTX_get_check_policy(context.get()));
  }();
  return check;
}

int CheckAnchorPolicies(X509_STORE_CTX* context) {
  const CheckPolicyFn check = DefaultCheckPolicy();
  if (check == nullptr) {
    X509_STORE_CTX_set_error(context, X509_V_ERR_UNSPECIFIED);
    return 0;
  }
  const auto* policy =
      static_cast<const ValidationPolicy*>(X509_STORE_CTX_get_ex_data(context, PolicyIndex()));
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(context);
  if (policy != nullptr && !policy->anchor_policies.empty() && chain != nullptr &&
      sk_X509_num(chain) > 0) {
    auto own = policy->anchor_policies.find(
        Sha256Fingerprint(sk_X509_value(chain, sk_X509_num(chain) - 1)));
    if (own != policy->anchor_policies.end() &&
        !SetPolicies(own->second, X509_STORE_CTX_get0_param(context)).ok()) {
      X509_STORE_CTX_set_error(context, X509_V_ERR_INVALID_POLICY_EXTENSION);
      return 0;
    }
  }
  return check(context);
}

}  // namespace

void UseAnchorPolicies(X509_STORE* store) {
  X509_STORE_set_check_policy(store, &CheckAnchorPolicies);
}

absl::Status ValidationPolicy::ApplyPolicies(X509_STORE_CTX* context) const {
  X509_STORE_CTX_set_ex_data(context, PolicyIndex(), const_cast<ValidationPolicy*>(this));
  return SetPolicies(policies, X509_STORE_CTX_get0_param(context));
}

}  // namespace signet::pki
