#include "tests/bench/openssl_cli_signer.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "tests/fixtures/subprocess.h"

namespace signet::bench {

absl::Status OpensslCliSigner::SignOnce() const {
  const std::string uri = absl::StrCat("pkcs11:token=", token_label, ";object=", key_label,
                                       ";type=private?pin-value=", pin);
  std::vector<std::string> env = environment;
  // libp11's engine loads this module instead of p11-kit's proxy.
  env.push_back(absl::StrCat("PKCS11_MODULE_PATH=", module_path));
  absl::StatusOr<fixtures::CommandResult> result = fixtures::RunCommand(
      {"openssl", "cms", "-sign", "-engine", "pkcs11", "-keyform", "engine", "-inkey", uri,
       "-signer", certificate_path, "-in", mail_path, "-out", "/dev/null"},
      {}, env);
  if (!result.ok()) return result.status();
  if (result->exit_code != 0) {
    // Not the command line, which holds the PIN; and openssl repeats the
    // URI, PIN included, in its messages, so it goes from stderr too.
    return absl::InternalError(
        absl::StrCat("openssl cms exited ", result->exit_code, ": ",
                     absl::StrReplaceAll(result->err, {{pin, "<pin>"}}).substr(0, 300)));
  }
  return absl::OkStatus();
}

}  // namespace signet::bench
