// signet-token slots: the tokens present in a module's slots.
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/command_options.h"
#include "tokens/module.h"
#include "tokens/token_registry.h"
#include "tokens/tool/commands.h"
#include "tokens/tool/token_text.h"
#include "tokens/tool/tool_status.h"

namespace signet::tool {
namespace {

constexpr char kSlotsUsage[] = R"(usage: signet-token slots --module PATH [--verbose]

Lists the initialized tokens present in the slots of a PKCS#11 module: slot
id, label, serial, manufacturer, model, and the state of the user PIN.

  --module PATH   the PKCS#11 module (a shared library) to load
  --verbose       also print the token layer's log lines
)";

constexpr OptionSpec kSlotsOptions[] = {{"module"}, {"verbose", OptionKind::kFlag}};

std::string PinStateText(CK_FLAGS flags) {
  if (!(flags & CKF_LOGIN_REQUIRED)) return "not required";
  std::string text = "required, user PIN ";
  if (!(flags & CKF_USER_PIN_INITIALIZED)) {
    absl::StrAppend(&text, "not initialized");
  } else if (flags & CKF_USER_PIN_LOCKED) {
    absl::StrAppend(&text, "locked");
  } else if (flags & CKF_USER_PIN_FINAL_TRY) {
    absl::StrAppend(&text, "on its final try");
  } else if (flags & CKF_USER_PIN_COUNT_LOW) {
    absl::StrAppend(&text, "had failed attempts since the last login");
  } else {
    absl::StrAppend(&text, "ok");
  }
  if (flags & CKF_PROTECTED_AUTHENTICATION_PATH) {
    absl::StrAppend(&text, " (entered on the reader's PIN pad)");
  }
  return text;
}

}  // namespace

int RunSlots(const std::vector<std::string>& args) {
  absl::StatusOr<ParsedOptions> options =
      ParseOptions(args, {.command = "slots", .options = kSlotsOptions});
  if (!options.ok()) return UsageError("slots", options.status().message());
  if (options->help()) {
    absl::PrintF("%s", kSlotsUsage);
    return kExitOk;
  }
  absl::StatusOr<std::string> module_path = options->Required("module");
  if (!module_path.ok()) return UsageError("slots", module_path.status().message());
  ConfigureLogging(options->Has("verbose"));

  // Held while Discover runs, which then finds this instance loaded.
  absl::StatusOr<std::shared_ptr<Module>> module = Module::Load(*module_path);
  if (!module.ok()) return Failed(module.status());
  absl::StatusOr<std::vector<TokenDescription>> tokens = TokenRegistry::Discover(*module_path);
  if (!tokens.ok()) return Failed(tokens.status());

  const ModuleInfo& info = (*module)->info();
  absl::PrintF("module %s: %s, %s, library %d.%d, Cryptoki %d.%d (%s)\n", info.path,
               Printable(info.manufacturer), Printable(info.description),
               info.library_version.major, info.library_version.minor, info.cryptoki_version.major,
               info.cryptoki_version.minor,
               info.found_by_get_interface ? "C_GetInterface" : "C_GetFunctionList");
  if (tokens->empty()) absl::PrintF("no initialized token is present\n");
  for (const TokenDescription& token : *tokens) {
    absl::PrintF(
        "\nslot %d\n  label: %s\n  serial: %s\n  manufacturer: %s\n  model: %s\n  login: %s\n",
        token.slot, Printable(token.label), Printable(token.serial), Printable(token.manufacturer),
        Printable(token.model), PinStateText(token.flags));
  }
  return kExitOk;
}

}  // namespace signet::tool
