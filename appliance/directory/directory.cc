#include "appliance/directory/directory.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "appliance/cms/enveloped_data.h"
#include "appliance/cms/recipient_check.h"
#include "appliance/directory/email_address.h"
#include "appliance/pki/chain_validation.h"
#include "common/asn1_time.h"

namespace signet::directory {
namespace {

constexpr int kDaneEe = 3;

absl::StatusOr<X509Ptr> ParseDer(absl::string_view der) {
  const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr certificate(d2i_X509(nullptr, &cursor, static_cast<long>(der.size())));
  if (!certificate || cursor != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    ERR_clear_error();
    return absl::InvalidArgumentError("not one DER X.509 certificate");
  }
  return certificate;
}

// Only the dates and the key: DNSSEC vouches for a DANE-EE certificate in
// place of a chain.
absl::Status CheckDaneEe(X509* certificate) {
  const absl::Time now = absl::Now();
  const std::optional<absl::Time> not_before = TimeOf(X509_get0_notBefore(certificate));
  const std::optional<absl::Time> not_after = TimeOf(X509_get0_notAfter(certificate));
  if (!not_before || !not_after) return absl::InvalidArgumentError("unreadable validity dates");
  if (now < *not_before) return absl::InvalidArgumentError("NOT_YET_VALID");
  if (now > *not_after) return absl::InvalidArgumentError("EXPIRED");
  if (std::optional<std::string> problem = cms::RecipientKeyProblem(certificate)) {
    return absl::InvalidArgumentError(absl::StrCat("KEY_USAGE: ", *problem));
  }
  return absl::OkStatus();
}

}  // namespace

std::string Sha256Hex(absl::string_view der) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(der.data(), der.size(), digest, &length, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), length));
}

Directory::Directory(DirectoryOptions options) : options_(std::move(options)) {}

absl::StatusOr<LookupResult> Directory::Lookup(absl::string_view address) const {
  LookupResult result;
  absl::StatusOr<std::string> normal = NormalizeAddress(address);
  if (!normal.ok()) return normal.status();
  result.address = *std::move(normal);

  for (const std::shared_ptr<CertificateSource>& source : options_.sources) {
    absl::StatusOr<std::vector<DirectoryCertificate>> found = source->Find(result.address);
    if (!found.ok()) {
      result.problems.push_back(absl::StrCat(source->name(), ": ", found.status().message()));
      continue;
    }
    for (DirectoryCertificate& candidate : *found) {
      absl::StatusOr<X509Ptr> certificate = ParseDer(candidate.der);
      if (!certificate.ok()) {
        result.problems.push_back(
            absl::StrCat(candidate.source, ": ", certificate.status().message()));
        continue;
      }
      UsableCertificate usable;
      usable.subject = pki::NameText(X509_get_subject_name(certificate->get()));
      absl::StatusOr<std::vector<std::string>> addresses = CertificateAddresses(certificate->get());
      const std::string who = absl::StrCat(candidate.source, ": ", usable.subject);
      if (!addresses.ok()) {
        result.problems.push_back(absl::StrCat(who, ": ", addresses.status().message()));
        continue;
      }
      // A source's index is not proof: a directory entry for one person
      // may hold another's certificate.
      if (std::find(addresses->begin(), addresses->end(), result.address) == addresses->end()) {
        result.problems.push_back(
            absl::StrCat(who, ": the certificate does not name ", result.address));
        continue;
      }
      const absl::Status valid =
          candidate.dane_usage == kDaneEe && options_.trust_dane_ee
              ? CheckDaneEe(certificate->get())
              : (options_.validate
                     ? options_.validate(certificate->get())
                     : absl::FailedPreconditionError("no recipient trust anchors are configured"));
      if (!valid.ok()) {
        const std::optional<cms::RecipientRefusal> refusal = cms::RecipientRefusalOf(valid);
        result.problems.push_back(
            refusal ? absl::StrCat(who, ": ", cms::RecipientFailureName(refusal->failure), ": ",
                                   valid.message())
                    : absl::StrCat(who, ": ", valid.message()));
        continue;
      }
      usable.sha256_hex = Sha256Hex(candidate.der);
      if (std::any_of(result.certificates.begin(), result.certificates.end(),
                      [&](const UsableCertificate& seen) {
                        return seen.sha256_hex == usable.sha256_hex;
                      })) {
        continue;
      }
      usable.addresses = *std::move(addresses);
      usable.not_before =
          TimeOf(X509_get0_notBefore(certificate->get())).value_or(absl::InfinitePast());
      usable.not_after =
          TimeOf(X509_get0_notAfter(certificate->get())).value_or(absl::InfinitePast());
      usable.algorithms = AlgorithmsFromCapabilities(candidate.smime_capabilities_der);
      usable.certificate = *std::move(certificate);
      usable.found = std::move(candidate);
      result.certificates.push_back(std::move(usable));
    }
    if (!result.certificates.empty()) break;
  }
  std::stable_sort(result.certificates.begin(), result.certificates.end(),
                   [](const UsableCertificate& a, const UsableCertificate& b) {
                     return a.not_before > b.not_before;
                   });
  return result;
}

}  // namespace signet::directory
