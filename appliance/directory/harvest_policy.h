// Which signer certificates VerifyMail hands to the store (harvesting): a
// certificate is worth keeping when its owner demonstrably sent the mail
// (the From: address is one of its addresses, so a forwarded signed mail
// harvests nothing) and its chain is trusted; and it must be one Signet
// could encrypt to: a key that can receive, no MD5 or SHA-1 signature.
#ifndef SIGNET_APPLIANCE_DIRECTORY_HARVEST_POLICY_H_
#define SIGNET_APPLIANCE_DIRECTORY_HARVEST_POLICY_H_

#include <optional>
#include <string>

#include "appliance/cms/verifier.h"

namespace signet::directory {

struct HarvestPolicy {
  // Harvest signers whose chain is not trusted too (they are not used to
  // encrypt until they validate).
  bool harvest_untrusted = false;
};

// Why the signer's certificate is not harvested; absent: harvest it.
std::optional<std::string> HarvestRefusal(const cms::SignerReport& signer,
                                          const HarvestPolicy& policy);

}  // namespace signet::directory

#endif  // SIGNET_APPLIANCE_DIRECTORY_HARVEST_POLICY_H_
