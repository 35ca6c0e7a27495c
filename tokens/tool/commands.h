// The subcommands of signet-token, the operator's tool for tokens. Each takes
// the arguments after its name and returns the process exit code.
#ifndef SIGNET_TOKENS_TOOL_COMMANDS_H_
#define SIGNET_TOKENS_TOOL_COMMANDS_H_

#include <string>
#include <vector>

namespace signet::tool {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // the operation failed
inline constexpr int kExitUsage = 2;   // the command line is wrong

// signet-token slots: the tokens present in a module's slots.
int RunSlots(const std::vector<std::string>& args);

// signet-token keys: the private keys on one token and the policy's verdict.
int RunKeys(const std::vector<std::string>& args);

// signet-token keygen: a new key pair on one token.
int RunKeygen(const std::vector<std::string>& args);

}  // namespace signet::tool

#endif  // SIGNET_TOKENS_TOOL_COMMANDS_H_
