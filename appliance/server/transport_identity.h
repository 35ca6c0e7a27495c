// The CallerIdentity of a call, from what its transport proved: the verified
// client certificate (mTLS), or the uid a UnixListener stamped.
#ifndef SIGNET_APPLIANCE_SERVER_TRANSPORT_IDENTITY_H_
#define SIGNET_APPLIANCE_SERVER_TRANSPORT_IDENTITY_H_

#include <grpcpp/security/auth_context.h>

#include "appliance/server/caller_identity.h"

namespace signet::server {

CallerIdentity IdentityOf(const grpc::AuthContext& context);

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_TRANSPORT_IDENTITY_H_
