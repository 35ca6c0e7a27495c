#include "appliance/server/certificate_directory.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "appliance/directory/email_address.h"
#include "appliance/directory/ldap_source.h"
#include "appliance/directory/smimea_source.h"
#include "appliance/pki/chain_validation.h"
#include "appliance/server/config/directory_config.h"
#include "appliance/server/proto_time.h"
#include "common/asn1_time.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace signet::server {
namespace {

// Lookups wait on LDAP servers and resolvers, Publish on the store's fsync:
// enough workers that one slow directory server does not hold the others'
// answers.
constexpr int kDirectoryWorkers = 8;
constexpr int kDirectoryQueue = 256;

v1::ContentCipher CipherOf(const directory::RecipientAlgorithms& algorithms) {
  const directory::ChosenAlgorithms chosen = directory::ChooseAlgorithms({algorithms});
  switch (chosen.cipher) {
    case cms::ContentCipher::kAes256Gcm:
      return v1::AES_256_GCM;
    case cms::ContentCipher::kAes128Gcm:
      return v1::AES_128_GCM;
    case cms::ContentCipher::kAes256Cbc:
      return v1::AES_256_CBC;
    case cms::ContentCipher::kAes128Cbc:
      return v1::AES_128_CBC;
  }
  return v1::AES_256_GCM;
}

// One certificate as the API describes it, whichever kind it came as.
v1::DirectoryCertificate DescribeFields(const std::string& der, absl::string_view source,
                                        const std::string& subject,
                                        const std::vector<std::string>& addresses,
                                        absl::Time not_before, absl::Time not_after,
                                        const std::string& sha256_hex,
                                        const directory::RecipientAlgorithms& algorithms,
                                        absl::Time added) {
  v1::DirectoryCertificate out;
  out.set_certificate(der);
  out.set_source(std::string(source));
  out.set_subject(subject);
  for (const std::string& address : addresses) out.add_email_addresses(address);
  *out.mutable_not_before() = TimestampOf(not_before);
  *out.mutable_not_after() = TimestampOf(not_after);
  out.set_sha256(sha256_hex);
  out.set_cipher(CipherOf(algorithms));
  out.set_rsa_key_transport(algorithms.rsa_oaep ? v1::RSA_OAEP_SHA256 : v1::RSA_PKCS1);
  out.set_from_capabilities(algorithms.from_capabilities);
  if (added != absl::InfinitePast()) *out.mutable_added() = TimestampOf(added);
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CertificateDirectory>> CertificateDirectory::Create(
    const config::v1::CertificateDirectory& config, directory::RecipientValidator validate) {
  std::unique_ptr<CertificateDirectory> made(new CertificateDirectory());
  absl::StatusOr<std::unique_ptr<directory::CertificateStore>> store =
      directory::CertificateStore::Open(config.store_path());
  if (!store.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("directory.store_path: ", store.status().message()));
  }
  made->store_ = std::move(*store);
  directory::DirectoryOptions options;
  options.sources.push_back(made->store_);
  for (int i = 0; i < config.ldap_size(); ++i) {
    const config::v1::LdapDirectory& ldap = config.ldap(i);
    directory::LdapSourceOptions ldap_options;
    ldap_options.urls.assign(ldap.urls().begin(), ldap.urls().end());
    ldap_options.base_dn = ldap.base_dn();
    ldap_options.bind_dn = ldap.bind_dn();
    ldap_options.bind_password_file = ldap.bind_password_file();
    ldap_options.timeout = LdapTimeout(ldap);
    ldap_options.cache_ttl = LdapCacheTtl(ldap);
    absl::StatusOr<std::unique_ptr<directory::LdapSource>> source =
        directory::LdapSource::Create(std::move(ldap_options));
    if (!source.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("directory.ldap[", i, "]: ", source.status().message()));
    }
    options.sources.push_back(std::move(*source));
  }
  if (config.smimea().enabled()) {
    directory::SmimeaSourceOptions smimea;
    smimea.forwarders.assign(config.smimea().forwarders().begin(),
                             config.smimea().forwarders().end());
    smimea.authoritative_server = config.smimea().authoritative_server();
    smimea.trust_anchor_file = config.smimea().trust_anchor_file();
    smimea.timeout = SmimeaTimeout(config.smimea());
    absl::StatusOr<std::unique_ptr<directory::SmimeaSource>> source =
        directory::SmimeaSource::Create(std::move(smimea));
    if (!source.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("directory.smimea: ", source.status().message()));
    }
    options.sources.push_back(std::move(*source));
    options.trust_dane_ee = config.smimea().trust_dane_ee();
  }
  options.validate = std::move(validate);
  made->directory_ = std::make_unique<directory::Directory>(std::move(options));
  made->harvest_ = HarvestEnabled(config);
  made->harvest_policy_.harvest_untrusted = config.harvest_untrusted();
  made->queue_ = std::make_unique<WorkQueue>("directory", kDirectoryWorkers, kDirectoryQueue);
  return made;
}

CertificateDirectory::~CertificateDirectory() {
  // The workers use the sources: joined before they go.
  if (queue_) queue_->Shutdown();
  queue_.reset();
}

absl::StatusOr<directory::LookupResult> CertificateDirectory::Lookup(
    absl::string_view address) const {
  return directory_->Lookup(address);
}

absl::StatusOr<ResolvedRecipients> CertificateDirectory::Resolve(
    const std::vector<std::string>& addresses) const {
  if (addresses.size() > static_cast<size_t>(kMaxRecipientAddresses)) {
    return absl::InvalidArgumentError(
        absl::StrCat("a call may name at most ", kMaxRecipientAddresses, " recipient addresses"));
  }
  ResolvedRecipients resolved;
  for (const std::string& address : addresses) {
    absl::StatusOr<directory::LookupResult> found = directory_->Lookup(address);
    v1::UnresolvedRecipient unresolved;
    unresolved.set_address(address.substr(0, 254));
    if (!found.ok()) {
      unresolved.set_reason(std::string(found.status().message()));
      resolved.unresolved.push_back(std::move(unresolved));
      continue;
    }
    if (found->certificates.empty()) {
      unresolved.set_address(found->address);
      unresolved.set_reason(found->problems.empty()
                                ? "no certificate found"
                                : absl::StrCat("no usable certificate found: ",
                                               absl::StrJoin(found->problems, "; ")));
      resolved.unresolved.push_back(std::move(unresolved));
      continue;
    }
    directory::UsableCertificate& best = found->certificates.front();
    v1::ResolvedRecipient recipient;
    recipient.set_address(found->address);
    recipient.set_sha256(best.sha256_hex);
    recipient.set_source(best.found.source);
    resolved.resolved.push_back(std::move(recipient));
    resolved.algorithms.push_back(best.algorithms);
    resolved.certificates.push_back(std::move(best.certificate));
  }
  return resolved;
}

std::vector<std::string> CertificateDirectory::Harvest(const cms::VerifiedMail& mail) {
  std::vector<std::string> harvested;
  if (!harvest_) return harvested;
  for (const cms::SignerReport& signer : mail.signers) {
    if (std::optional<std::string> refusal = directory::HarvestRefusal(signer, harvest_policy_)) {
      continue;
    }
    // Most verified mail comes from senders already known: a read answers,
    // and only news costs a write and its fsync.
    const std::string sha256 = directory::Sha256Hex(signer.certificate_der);
    absl::StatusOr<std::vector<directory::DirectoryCertificate>> known =
        store_->Find(directory::NormalizeAddress(mail.from_address).value_or(""));
    if (known.ok() && std::any_of(known->begin(), known->end(),
                                  [&](const directory::DirectoryCertificate& certificate) {
                                    return directory::Sha256Hex(certificate.der) == sha256 &&
                                           certificate.smime_capabilities_der ==
                                               signer.smime_capabilities_der;
                                  })) {
      continue;
    }
    absl::StatusOr<directory::StoredCertificate> stored =
        store_->Put({.der = signer.certificate_der,
                     .origin = directory::StoreOrigin::kHarvested,
                     .smime_capabilities_der = signer.smime_capabilities_der,
                     .capabilities_time = signer.signing_time.value_or(absl::Now())});
    if (!stored.ok()) {
      Log(LogLevel::kWarning, absl::StrCat("directory: harvesting the certificate of ",
                                           signer.subject, " failed: ", stored.status().message()));
      continue;
    }
    harvested.insert(harvested.end(), stored->addresses.begin(), stored->addresses.end());
  }
  return harvested;
}

absl::StatusOr<std::vector<std::string>> CertificateDirectory::PublishedFor(
    absl::string_view address) const {
  ASSIGN_OR_RETURN(std::vector<directory::DirectoryCertificate> found, store_->Find(address));
  std::vector<std::string> published;
  const absl::Time now = absl::Now();
  for (directory::DirectoryCertificate& certificate : found) {
    if (certificate.source != directory::StoreOriginName(directory::StoreOrigin::kPublished)) {
      continue;
    }
    const auto* cursor = reinterpret_cast<const unsigned char*>(certificate.der.data());
    X509Ptr parsed(d2i_X509(nullptr, &cursor, static_cast<long>(certificate.der.size())));
    if (!parsed) continue;
    const std::optional<absl::Time> not_before = TimeOf(X509_get0_notBefore(parsed.get()));
    const std::optional<absl::Time> not_after = TimeOf(X509_get0_notAfter(parsed.get()));
    if (!not_before || !not_after || now < *not_before || now > *not_after) continue;
    published.push_back(std::move(certificate.der));
  }
  return published;
}

v1::DirectoryCertificate CertificateDirectory::Describe(
    const directory::UsableCertificate& usable) {
  return DescribeFields(usable.found.der, usable.found.source, usable.subject, usable.addresses,
                        usable.not_before, usable.not_after, usable.sha256_hex, usable.algorithms,
                        usable.found.added);
}

v1::DirectoryCertificate CertificateDirectory::Describe(
    const directory::StoredCertificate& stored) {
  return DescribeFields(stored.der, directory::StoreOriginName(stored.origin), stored.subject,
                        stored.addresses, stored.not_before, stored.not_after, stored.sha256_hex,
                        directory::AlgorithmsFromCapabilities(stored.smime_capabilities_der),
                        stored.added);
}

}  // namespace signet::server
