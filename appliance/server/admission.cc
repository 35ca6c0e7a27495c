#include "appliance/server/admission.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "appliance/server/transport_identity.h"
#include "common/status_macros.h"

namespace signet::server {

absl::StatusOr<std::string> AdmitCaller(grpc::CallbackServerContext& context,
                                        Appliance& appliance) {
  if (!appliance.admitting()) {
    return absl::UnavailableError("signetd is shutting down; try another instance or retry");
  }
  ASSIGN_OR_RETURN(std::string caller,
                   appliance.authorizer().Identify(IdentityOf(*context.auth_context())));
  if (!appliance.rate_limiter().TryAcquire(caller, absl::Now())) {
    return absl::ResourceExhaustedError(
        absl::StrCat("caller '", caller, "' is over its rate limit"));
  }
  return caller;
}

}  // namespace signet::server
