#include "appliance/directory/harvest_policy.h"

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "appliance/cms/enveloped_data.h"
#include "appliance/directory/email_address.h"
#include "common/ossl_ptr.h"

namespace signet::directory {

std::optional<std::string> HarvestRefusal(const cms::SignerReport& signer,
                                          const HarvestPolicy& policy) {
  if (signer.chain_status != cms::ChainStatus::kTrusted && !policy.harvest_untrusted) {
    return "its chain is not trusted";
  }
  if (!signer.from_matches_signer) return "the mail's From: address is not the signer's";
  const auto* cursor = reinterpret_cast<const unsigned char*>(signer.certificate_der.data());
  X509Ptr certificate(d2i_X509(nullptr, &cursor, static_cast<long>(signer.certificate_der.size())));
  if (!certificate) {
    ERR_clear_error();
    return "the certificate does not parse";
  }
  int digest = NID_undef;
  if (OBJ_find_sigid_algs(X509_get_signature_nid(certificate.get()), &digest, nullptr) != 1) {
    digest = NID_undef;
  }
  if (digest == NID_md5 || digest == NID_sha1 || digest == NID_md5_sha1) {
    return "the certificate is signed with MD5 or SHA-1";
  }
  if (std::optional<std::string> problem = cms::RecipientKeyProblem(certificate.get())) {
    return "its key cannot receive: " + *problem;
  }
  absl::StatusOr<std::vector<std::string>> addresses = CertificateAddresses(certificate.get());
  if (!addresses.ok()) return std::string(addresses.status().message());
  if (addresses->empty()) return "it names no e-mail address";
  return std::nullopt;
}

}  // namespace signet::directory
