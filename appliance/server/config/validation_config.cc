#include "appliance/server/config/validation_config.h"

#include <openssl/err.h>
#include <openssl/objects.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/pem_certificates.h"
#include "common/status_macros.h"

namespace signet::server {
namespace {

constexpr uint32_t kDefaultFetchTimeoutSeconds = 5;
constexpr uint32_t kMaxFetchTimeoutSeconds = 60;
constexpr uint32_t kDefaultRetryAfterFailureSeconds = 60;
constexpr uint64_t kDefaultMaxCrlBytes = 20 << 20;
constexpr uint32_t kDefaultMaxCachedCrls = 256;
constexpr uint32_t kDefaultCrlRefreshIntervalSeconds = 60;
constexpr uint32_t kDefaultCrlStaleAfterSeconds = 3600;
constexpr uint32_t kDefaultOcspMaxAgeSeconds = 3600;
constexpr uint32_t kMaxOcspMaxAgeSeconds = 7 * 24 * 3600;
constexpr uint32_t kDefaultMaxCachedOcspAnswers = 1024;

pki::RevocationMode ModeOf(config::v1::RevocationMode mode) {
  switch (mode) {
    case config::v1::REVOCATION_OFF:
      return pki::RevocationMode::kOff;
    case config::v1::REVOCATION_REQUIRE:
      return pki::RevocationMode::kRequire;
    default:
      return pki::RevocationMode::kPrefer;
  }
}

// The section's own fields and an anchor's CertificatePolicies have the
// same names.
template <typename Message>
pki::CertificatePolicies PoliciesOf(const Message& message) {
  pki::CertificatePolicies policies;
  policies.acceptable.assign(message.acceptable_policies().begin(),
                             message.acceptable_policies().end());
  policies.require_explicit = message.require_explicit_policy();
  policies.inhibit_any = message.inhibit_any_policy();
  policies.inhibit_mapping = message.inhibit_policy_mapping();
  return policies;
}

// Whether OCSP is asked: on unless turned off, never offline.
bool OcspOn(const config::v1::Validation& validation) {
  return (!validation.has_ocsp() || validation.ocsp()) && !validation.offline();
}

bool IsOid(const std::string& text) {
  ASN1_OBJECT* object = OBJ_txt2obj(text.c_str(), /*no_name=*/1);
  ERR_clear_error();
  ASN1_OBJECT_free(object);
  return object != nullptr;
}

}  // namespace

absl::Duration CrlRefreshInterval(const config::v1::Validation& validation) {
  return absl::Seconds(validation.crl_refresh_interval_seconds() != 0
                           ? validation.crl_refresh_interval_seconds()
                           : kDefaultCrlRefreshIntervalSeconds);
}

absl::Duration CrlStaleAfter(const config::v1::Validation& validation) {
  return absl::Seconds(validation.crl_stale_after_seconds() != 0
                           ? validation.crl_stale_after_seconds()
                           : kDefaultCrlStaleAfterSeconds);
}

std::string NormalizedFingerprint(absl::string_view fingerprint) {
  return absl::AsciiStrToLower(absl::StrReplaceAll(fingerprint, {{":", ""}}));
}

std::vector<std::pair<std::string, std::string>> ValidationProblems(
    const config::v1::Validation& validation) {
  std::vector<std::pair<std::string, std::string>> problems;
  auto add = [&](std::string where, std::string what) {
    problems.emplace_back(std::move(where), std::move(what));
  };
  for (int i = 0; i < validation.anchors_size(); ++i) {
    const std::string where = absl::StrCat("validation.anchors[", i, "]");
    const std::string fingerprint =
        NormalizedFingerprint(validation.anchors(i).sha256_fingerprint());
    if (fingerprint.size() != 64 ||
        !std::all_of(fingerprint.begin(), fingerprint.end(),
                     [](char c) { return absl::ascii_isxdigit(static_cast<unsigned char>(c)); })) {
      add(where, "sha256_fingerprint must be 64 hex digits (colons allowed)");
    }
    for (int j = 0; j < i; ++j) {
      if (NormalizedFingerprint(validation.anchors(j).sha256_fingerprint()) == fingerprint) {
        add(where, absl::StrCat("names the same anchor as validation.anchors[", j, "]"));
      }
    }
  }
  if (validation.fetch_timeout_seconds() > kMaxFetchTimeoutSeconds) {
    add("validation", absl::StrCat("fetch_timeout_seconds ", validation.fetch_timeout_seconds(),
                                   " is more than ", kMaxFetchTimeoutSeconds));
  }
  if (!validation.ocsp_responder().empty()) {
    if (!absl::StartsWithIgnoreCase(validation.ocsp_responder(), "http://") ||
        validation.ocsp_responder().size() <= 7) {
      add("validation", absl::StrCat("ocsp_responder '", validation.ocsp_responder(),
                                     "' is not an http: URL; only http: is asked"));
    }
    if (validation.has_ocsp() && !validation.ocsp()) {
      add("validation", "ocsp_responder is set but ocsp is false");
    }
  }
  if (validation.offline() && (validation.ocsp() || !validation.ocsp_responder().empty())) {
    add("validation",
        "offline asks no OCSP responder; ocsp: true or ocsp_responder contradicts it");
  }
  if (validation.ocsp_max_age_seconds() > kMaxOcspMaxAgeSeconds) {
    add("validation", absl::StrCat("ocsp_max_age_seconds ", validation.ocsp_max_age_seconds(),
                                   " is more than ", kMaxOcspMaxAgeSeconds));
  }
  auto check_oids = [&](const std::string& where,
                        const google::protobuf::RepeatedPtrField<std::string>& oids) {
    for (int i = 0; i < oids.size(); ++i) {
      if (!IsOid(oids.Get(i))) {
        add(absl::StrCat(where, "acceptable_policies[", i, "]"),
            "is not a dotted OID (\"2.16.840.1.101.3.2.1.48.1\")");
      }
    }
  };
  check_oids("validation.", validation.acceptable_policies());
  for (int i = 0; i < validation.anchors_size(); ++i) {
    check_oids(absl::StrCat("validation.anchors[", i, "].policies."),
               validation.anchors(i).policies().acceptable_policies());
  }
  return problems;
}

absl::StatusOr<pki::ValidationPolicy> ValidationPolicyOf(const config::v1::Validation& validation) {
  pki::ValidationPolicy policy;
  policy.revocation = ModeOf(validation.revocation());
  for (const config::v1::AnchorRevocation& anchor : validation.anchors()) {
    const std::string fingerprint = NormalizedFingerprint(anchor.sha256_fingerprint());
    // An anchor listed only for its policies keeps the section's mode.
    if (anchor.revocation() != config::v1::REVOCATION_MODE_UNSPECIFIED) {
      policy.anchor_revocation[fingerprint] = ModeOf(anchor.revocation());
    }
    if (anchor.has_policies()) policy.anchor_policies[fingerprint] = PoliciesOf(anchor.policies());
  }
  policy.policies = PoliciesOf(validation);
  if (!policy.ChecksRevocation()) return policy;

  pki::CrlStoreOptions crls;
  crls.files.assign(validation.crl_files().begin(), validation.crl_files().end());
  crls.directory = validation.crl_directory();
  crls.fetch = !validation.offline();
  crls.fetch_timeout =
      absl::Seconds(validation.fetch_timeout_seconds() != 0 ? validation.fetch_timeout_seconds()
                                                            : kDefaultFetchTimeoutSeconds);
  crls.retry_after_failure = absl::Seconds(validation.retry_after_failure_seconds() != 0
                                               ? validation.retry_after_failure_seconds()
                                               : kDefaultRetryAfterFailureSeconds);
  crls.max_crl_bytes =
      validation.max_crl_bytes() != 0 ? validation.max_crl_bytes() : kDefaultMaxCrlBytes;
  crls.max_cached_crls =
      validation.max_cached_crls() != 0 ? validation.max_cached_crls() : kDefaultMaxCachedCrls;
  const absl::Duration fetch_timeout = crls.fetch_timeout;
  const absl::Duration retry_after_failure = crls.retry_after_failure;
  ASSIGN_OR_RETURN(policy.crls, pki::CrlStore::Create(std::move(crls)));
  if (!validation.crl_issuer_certificates_file().empty()) {
    absl::StatusOr<std::vector<X509Ptr>> issuers =
        ReadPemCertificates(validation.crl_issuer_certificates_file());
    if (!issuers.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("validation.crl_issuer_certificates_file: ", issuers.status().message()));
    }
    policy.crl_issuers = std::make_shared<const std::vector<X509Ptr>>(std::move(*issuers));
  }

  policy.order = validation.revocation_order() == config::v1::CRL_FIRST
                     ? pki::RevocationOrder::kCrlFirst
                     : pki::RevocationOrder::kOcspFirst;
  if (!OcspOn(validation)) return policy;
  pki::OcspClientOptions ocsp;
  ocsp.responder_url = validation.ocsp_responder();
  ocsp.timeout = fetch_timeout;
  ocsp.retry_after_failure = retry_after_failure;
  ocsp.max_age_without_next_update =
      absl::Seconds(validation.ocsp_max_age_seconds() != 0 ? validation.ocsp_max_age_seconds()
                                                           : kDefaultOcspMaxAgeSeconds);
  ocsp.max_cached_answers = validation.max_cached_ocsp_answers() != 0
                                ? validation.max_cached_ocsp_answers()
                                : kDefaultMaxCachedOcspAnswers;
  ASSIGN_OR_RETURN(policy.ocsp, pki::OcspClient::Create(std::move(ocsp)));
  return policy;
}

}  // namespace signet::server
