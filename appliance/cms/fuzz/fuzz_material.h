// The keys and certificates the verify and decrypt fuzz targets work with.
// cms_fuzz_seeds makes them at build time (throwaway software keys, in the
// build tree, never in the repository) together with seed mails signed and
// encrypted with them, so that the seeds reach the cryptography.
#ifndef SIGNET_APPLIANCE_CMS_FUZZ_FUZZ_MATERIAL_H_
#define SIGNET_APPLIANCE_CMS_FUZZ_FUZZ_MATERIAL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/ossl_ptr.h"

namespace signet::cms::fuzz {

struct FuzzMaterial {
  X509Ptr ca;
  // A signer (RSA) and two recipients (RSA, EC P-256), all issued by ca.
  EvpPkeyPtr signer_key;
  X509Ptr signer;
  EvpPkeyPtr rsa_recipient_key;
  X509Ptr rsa_recipient;
  EvpPkeyPtr ec_recipient_key;
  X509Ptr ec_recipient;
};

// The files in `dir`: ca.pem, and <name>.pem with <name>.key for signer,
// rsa-recipient and ec-recipient.
absl::Status SaveFuzzMaterial(const FuzzMaterial& material, const std::string& dir);
absl::StatusOr<FuzzMaterial> LoadFuzzMaterial(const std::string& dir);

}  // namespace signet::cms::fuzz

#endif  // SIGNET_APPLIANCE_CMS_FUZZ_FUZZ_MATERIAL_H_
