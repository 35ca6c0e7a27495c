// signet-token keygen: a new key pair on one token.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/command_options.h"
#include "common/status_macros.h"
#include "tokens/keys/keygen.h"
#include "tokens/keys/token_key.h"
#include "tokens/token.h"
#include "tokens/tool/commands.h"
#include "tokens/tool/token_target.h"
#include "tokens/tool/token_text.h"
#include "tokens/tool/tool_status.h"

namespace signet::tool {
namespace {

constexpr char kKeygenUsage[] =
    R"(usage: signet-token keygen --module PATH --token LABEL|URI --pin-source SPEC
                           --label LABEL --algorithm ALG --purpose PURPOSE [--id HEX]

Generates a key pair on the token. The private key never leaves it: it is
CKA_SENSITIVE, not CKA_EXTRACTABLE, and has only its purpose's usage. Prints
the new key's id and its public key (PEM).

  --label LABEL        CKA_LABEL of the new key; no other private key may have it
  --algorithm ALG      rsa2048, rsa3072, rsa4096, p256 or p384
  --purpose PURPOSE    sign, or decrypt (an RSA key decrypts, an EC key derives)
  --id HEX             CKA_ID in hex (default: 16 random bytes)
)";

absl::StatusOr<KeyAlgorithm> ParseAlgorithm(absl::string_view text) {
  if (text == "rsa2048") return KeyAlgorithm::kRsa2048;
  if (text == "rsa3072") return KeyAlgorithm::kRsa3072;
  if (text == "rsa4096") return KeyAlgorithm::kRsa4096;
  if (text == "p256") return KeyAlgorithm::kEcP256;
  if (text == "p384") return KeyAlgorithm::kEcP384;
  return absl::InvalidArgumentError("--algorithm must be rsa2048, rsa3072, rsa4096, p256 or p384");
}

absl::StatusOr<KeyPurpose> ParsePurpose(absl::string_view text) {
  if (text == "sign") return KeyPurpose::kSign;
  if (text == "decrypt") return KeyPurpose::kDecrypt;
  return absl::InvalidArgumentError("--purpose must be sign or decrypt");
}

// The new key's options; InvalidArgument for a usage error.
absl::StatusOr<KeyGenSpec> ReadKeyGenSpec(const ParsedOptions& options) {
  KeyGenSpec spec;
  ASSIGN_OR_RETURN(spec.label, options.Required("label"));
  ASSIGN_OR_RETURN(const std::string algorithm, options.Required("algorithm"));
  ASSIGN_OR_RETURN(spec.algorithm, ParseAlgorithm(algorithm));
  ASSIGN_OR_RETURN(const std::string purpose, options.Required("purpose"));
  ASSIGN_OR_RETURN(spec.purpose, ParsePurpose(purpose));
  if (std::optional<std::string> id = options.Value("id")) {
    if (id->size() % 2 != 0 || !std::all_of(id->begin(), id->end(), absl::ascii_isxdigit)) {
      return absl::InvalidArgumentError("--id must be an even number of hex digits");
    }
    spec.id = absl::HexStringToBytes(*id);
  }
  return spec;
}

}  // namespace

int RunKeygen(const std::vector<std::string>& args) {
  std::vector<OptionSpec> specs(std::begin(kTokenOptions), std::end(kTokenOptions));
  specs.insert(specs.end(), {{"label"}, {"algorithm"}, {"purpose"}, {"id"}});
  absl::StatusOr<ParsedOptions> options =
      ParseOptions(args, {.command = "keygen", .options = specs});
  if (!options.ok()) return UsageError("keygen", options.status().message());
  if (options->help()) {
    absl::PrintF("%s%s", kKeygenUsage, kTokenOptionsHelp);
    return kExitOk;
  }
  absl::StatusOr<TokenTarget> target = ParseTokenTarget(*options);
  if (!target.ok()) return UsageError("keygen", target.status().message());
  absl::StatusOr<KeyGenSpec> spec = ReadKeyGenSpec(*options);
  if (!spec.ok()) return UsageError("keygen", spec.status().message());
  ConfigureLogging(options->Has("verbose"));

  absl::StatusOr<std::shared_ptr<Token>> token = OpenToken(*target);
  if (!token.ok()) return Failed(token.status());
  absl::StatusOr<std::shared_ptr<TokenKey>> key =
      GenerateKeyPair(*token, *spec, absl::Now() + kCommandTimeout);
  if (!key.ok()) return TokenFailed(**token, key.status());
  absl::StatusOr<std::string> pem = PublicKeyPem((*key)->public_key());
  if (!pem.ok()) return Failed(pem.status());

  absl::PrintF("generated %s on token %s\n  id: %s\n  type: %s\n  usage: %s\n%s",
               KeyHeading((*key)->label()), Printable((*token)->name()), HexId((*key)->id()),
               TypeText((*key)->type(), (*key)->public_key()), UsageText((*key)->attributes()),
               *pem);
  return kExitOk;
}

}  // namespace signet::tool
