// The commands signet knows and the options each takes: one table that both
// the parser (command_line.cc) and the usage texts read.
#ifndef SIGNET_APPLIANCE_CLI_COMMAND_SPECS_H_
#define SIGNET_APPLIANCE_CLI_COMMAND_SPECS_H_

#include <vector>

#include "absl/strings/string_view.h"
#include "appliance/cli/command_line.h"
#include "common/command_options.h"

namespace signet::cli {

struct CommandSpec {
  const char* name;
  Command command;
  // Talks to signetd, so takes the connection options.
  bool connects;
  std::vector<OptionSpec> options;
  const char* synopsis;
};

const std::vector<CommandSpec>& Commands();
// --socket, --server, --timeout...: every command that connects takes them.
const std::vector<OptionSpec>& ConnectionSpecs();

const CommandSpec* FindCommand(absl::string_view name);

}  // namespace signet::cli

#endif  // SIGNET_APPLIANCE_CLI_COMMAND_SPECS_H_
