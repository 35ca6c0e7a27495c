#include "appliance/server/admission.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "appliance/server/transport_identity.h"

namespace signet::server {

absl::StatusOr<std::string> AdmitCaller(grpc::CallbackServerContext& context,
                                        Appliance& appliance) {
  if (!appliance.admitting()) {
    return absl::UnavailableError("signetd is shutting down; try another instance or retry");
  }
  absl::StatusOr<std::string> caller =
      appliance.authorizer().Identify(IdentityOf(*context.auth_context()));
  if (!caller.ok()) return caller.status();
  if (!appliance.rate_limiter().TryAcquire(*caller, absl::Now())) {
    return absl::ResourceExhaustedError(
        absl::StrCat("caller '", *caller, "' is over its rate limit"));
  }
  return caller;
}

}  // namespace signet::server
