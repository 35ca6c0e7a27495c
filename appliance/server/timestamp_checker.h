// How signetd judges the time-stamps on signatures it verifies: with the
// TSA trust anchors of the configuration (validation.tsa_trust_anchors_file)
// and the TSA client's own token check, handed to the CMS engine as a
// callback so that the engine links no TSA code.
#ifndef SIGNET_APPLIANCE_SERVER_TIMESTAMP_CHECKER_H_
#define SIGNET_APPLIANCE_SERVER_TIMESTAMP_CHECKER_H_

#include <memory>
#include <vector>

#include "appliance/cms/verifier.h"
#include "common/ossl_ptr.h"

namespace signet::server {

// A checker that accepts stamps by TSAs chaining to `anchors`; null anchors
// (none configured) give a null checker, and VerifyMail then reports each
// stamp as proving nothing.
cms::TimestampChecker TimestampCheckerFor(std::shared_ptr<const std::vector<X509Ptr>> anchors);

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_TIMESTAMP_CHECKER_H_
