// signet-token: the operator's tool for PKCS#11 tokens. It lists tokens and
// keys and generates keys through the same token layer the daemon uses, so
// what it reports (a key refused by policy, a PIN lockout) is what the daemon
// will see.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/command_options.h"
#include "tokens/tool/commands.h"
#include "tokens/tool/tool_status.h"

namespace {

constexpr char kUsage[] = R"(usage: signet-token COMMAND [OPTIONS]

Commands:
  slots    list the tokens present in a PKCS#11 module's slots
  keys     list the private keys on a token and whether Signet accepts them
  keygen   generate a key pair on a token

Run 'signet-token COMMAND --help' for a command's options.
Exit status: 0 done, 1 the operation failed, 2 the command line is wrong.
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace signet::tool;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    absl::FPrintF(stderr, "%s", kUsage);
    return kExitUsage;
  }
  const std::string command = args.front();
  args.erase(args.begin());
  if (command == "--help" || command == "-h" || command == "help") {
    absl::PrintF("%s", kUsage);
    return kExitOk;
  }
  if (command == "slots") return RunSlots(args);
  if (command == "keys") return RunKeys(args);
  if (command == "keygen") return RunKeygen(args);
  absl::FPrintF(stderr, "signet-token: %s; the commands are slots, keys and keygen\n",
                signet::LooksLikeName(command) ? absl::StrCat("unknown command '", command, "'")
                                               : std::string("unknown command"));
  return kExitUsage;
}
