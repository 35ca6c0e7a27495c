#include "appliance/server/timestamp_checker.h"

#include <string>
#include <utility>

#include "appliance/timestamp/timestamp_token.h"

namespace signet::server {

cms::TimestampChecker TimestampCheckerFor(std::shared_ptr<const std::vector<X509Ptr>> anchors) {
  if (anchors == nullptr || anchors->empty()) return nullptr;
  return [anchors = std::move(anchors)](absl::string_view token, absl::string_view signature) {
    std::vector<X509*> roots;
    for (const X509Ptr& anchor : *anchors) roots.push_back(anchor.get());
    cms::TimestampCheck check{.state = cms::TimestampState::kInvalid};
    absl::StatusOr<timestamp::TokenVerification> verified =
        timestamp::VerifyTimestampToken(token, signature, roots);
    if (!verified.ok()) {
      check.detail = std::string(verified.status().message());
      return check;
    }
    if (verified->valid()) check.state = cms::TimestampState::kValid;
    check.time = verified->facts.gen_time;
    check.tsa = verified->facts.tsa_name;
    check.policy = verified->facts.policy_oid;
    check.serial_hex = verified->facts.serial_hex;
    check.detail = verified->problem;
    return check;
  };
}

}  // namespace signet::server
