// Initialising a token: C_InitToken on a free slot, then the user PIN set
// through a security officer session. For developer tokens on SoftHSM2,
// which always offers one uninitialised slot; hardware tokens are
// initialised with their vendor's tools, never by the appliance.
#ifndef SIGNET_TOKENS_TOKEN_INIT_H_
#define SIGNET_TOKENS_TOKEN_INIT_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/secret.h"
#include "tokens/module.h"
#include "tokens/token_selector.h"

namespace signet {

// Initialises the first slot whose token is not yet initialised, with
// `label` (at most 32 bytes) and both PINs, and returns the token as the
// module lists it afterwards (SoftHSM2 moves a token to another slot id when
// it is initialised). ALREADY_EXISTS when a token with `label` is present;
// RESOURCE_EXHAUSTED when no slot is free.
absl::StatusOr<TokenDescription> InitializeToken(const Module& module, absl::string_view label,
                                                 const SecretString& so_pin,
                                                 const SecretString& user_pin);

}  // namespace signet

#endif  // SIGNET_TOKENS_TOKEN_INIT_H_
