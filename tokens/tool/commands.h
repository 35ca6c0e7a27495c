// The subcommands of signet-token, the operator's tool for tokens: what main
// dispatches to. Each takes the arguments after its name and returns the
// process exit code (tool_status.h).
#ifndef SIGNET_TOKENS_TOOL_COMMANDS_H_
#define SIGNET_TOKENS_TOOL_COMMANDS_H_

#include <string>
#include <vector>

namespace signet::tool {

// signet-token slots: the tokens present in a module's slots
// (slots_command.cc).
int RunSlots(const std::vector<std::string>& args);

// signet-token keys: the private keys on one token and the policy's verdict
// (keys_command.cc).
int RunKeys(const std::vector<std::string>& args);

// signet-token keygen: a new key pair on one token (keygen_command.cc).
int RunKeygen(const std::vector<std::string>& args);

}  // namespace signet::tool

#endif  // SIGNET_TOKENS_TOOL_COMMANDS_H_
