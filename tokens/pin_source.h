// Where a token's user PIN comes from (docs/architecture.md, decision D10).
//
// Every error names the source (a path, a variable name, a credential name)
// and never its content: a status message ends up in logs and in replies, and
// a PIN must reach neither.
#ifndef SIGNET_TOKENS_PIN_SOURCE_H_
#define SIGNET_TOKENS_PIN_SOURCE_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/secret.h"

namespace signet {

// A PIN file larger than this is refused rather than read: a PIN is short, and
// a big file named by mistake (a key, a log) must not be copied into memory
// and sent to a token as a PIN.
inline constexpr std::size_t kMaxPinBytes = 256;

class PinSource {
 public:
  virtual ~PinSource();

  // Reads the PIN afresh on every call, so that a rotated PIN file or
  // credential is picked up on the next login.
  virtual absl::StatusOr<SecretString> Read() const = 0;

  // A description that is safe to log, e.g. "file:/etc/signet/bank.pin".
  virtual std::string Describe() const = 0;
};

// A file that only the user Signet runs as can read: a regular file (not a
// symlink), owned by the effective uid, mode 0600 or 0400. Trailing newlines
// are dropped; an empty PIN is an error.
class FilePinSource final : public PinSource {
 public:
  explicit FilePinSource(std::string path);

  absl::StatusOr<SecretString> Read() const override;
  std::string Describe() const override;

 private:
  std::string path_;
};

// An environment variable, read as is (no trimming). Unset or empty is an
// error that names the variable.
class EnvPinSource final : public PinSource {
 public:
  explicit EnvPinSource(std::string variable_name);

  absl::StatusOr<SecretString> Read() const override;
  std::string Describe() const override;

 private:
  std::string variable_name_;
};

// A systemd credential (LoadCredential=/SetCredential= in the unit): the file
// $CREDENTIALS_DIRECTORY/<name>, held to the same rules as a FilePinSource.
class SystemdCredentialPinSource final : public PinSource {
 public:
  explicit SystemdCredentialPinSource(std::string name);

  absl::StatusOr<SecretString> Read() const override;
  std::string Describe() const override;

 private:
  std::string name_;
};

// A PIN held in memory. Only tests should make one: ParsePinSource never
// does, so no config file can put a PIN inline.
class LiteralPinSourceForTests final : public PinSource {
 public:
  explicit LiteralPinSourceForTests(SecretString pin);

  absl::StatusOr<SecretString> Read() const override;
  std::string Describe() const override;

 private:
  SecretString pin_;
};

// Parses a PIN source as written in the config or in the pin-source attribute
// of a pkcs11: URI:
//   "file:/abs/path", "file:///abs/path", "/abs/path"  -> FilePinSource
//   "env:NAME"                                         -> EnvPinSource
//   "systemd-credential:NAME"                          -> SystemdCredentialPinSource
// Paths are taken literally (no percent-decoding). Errors never repeat the
// spec: a PIN typed where a PIN source belongs must not reach a log.
// (absl::string_view like the rest of tokens/: Debian's abseil does not make
// it an alias of std::string_view; string literals and std::string convert.)
absl::StatusOr<std::unique_ptr<PinSource>> ParsePinSource(absl::string_view spec);

}  // namespace signet

#endif  // SIGNET_TOKENS_PIN_SOURCE_H_
