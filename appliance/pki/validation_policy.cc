#include "appliance/pki/validation_policy.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

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

absl::Status ValidationPolicy::ApplyPolicies(X509_STORE_CTX* context) const {
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(context);
  // Policy processing always: a chain whose own certificates demand an
  // explicit policy (policyConstraints) is judged as RFC 5280 says even
  // when the configuration asks for nothing.
  unsigned long flags = X509_V_FLAG_POLICY_CHECK;
  if (require_explicit_policy) flags |= X509_V_FLAG_EXPLICIT_POLICY;
  if (inhibit_any_policy) flags |= X509_V_FLAG_INHIBIT_ANY;
  if (inhibit_policy_mapping) flags |= X509_V_FLAG_INHIBIT_MAP;
  X509_VERIFY_PARAM_set_flags(param, flags);
  for (const std::string& oid : acceptable_policies) {
    ASN1_OBJECT* policy = OBJ_txt2obj(oid.c_str(), /*no_name=*/1);
    if (policy == nullptr) {
      ERR_clear_error();
      return absl::InvalidArgumentError(absl::StrCat("'", oid, "' is not a policy OID"));
    }
    if (X509_VERIFY_PARAM_add0_policy(param, policy) != 1) {
      ASN1_OBJECT_free(policy);
      ERR_clear_error();
      return absl::InternalError("cannot set the acceptable policies");
    }
  }
  return absl::OkStatus();
}

}  // namespace signet::pki
