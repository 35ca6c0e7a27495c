#include "tokens/pin_source.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"
#include "common/unique_fd.h"

namespace signet {
namespace {

constexpr char kCredentialsDirectoryVariable[] = "CREDENTIALS_DIRECTORY";

// A stack buffer that is wiped on every way out of the scope that filled it,
// early error returns included.
template <std::size_t N>
class WipedBuffer {
 public:
  WipedBuffer() = default;
  WipedBuffer(const WipedBuffer&) = delete;
  WipedBuffer& operator=(const WipedBuffer&) = delete;
  ~WipedBuffer() { OPENSSL_cleanse(bytes_, N); }

  char* data() { return bytes_; }
  static constexpr std::size_t size() { return N; }

 private:
  char bytes_[N];
};

absl::Status OpenError(int error_number, absl::string_view what) {
  // O_NOFOLLOW makes open() fail with ELOOP on a symlink; say so plainly
  // rather than "too many levels of symbolic links".
  if (error_number == ELOOP) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, " is a symbolic link; name the file itself"));
  }
  return absl::ErrnoToStatus(error_number, absl::StrCat("cannot open ", what));
}

// The checks run on the open descriptor (fstat), not on the path, so the file
// that was checked is the file that is read.
absl::Status CheckPinFile(const struct stat& info, absl::string_view what) {
  if (!S_ISREG(info.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(what, " is not a regular file"));
  }
  if ((info.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s has mode %04o; a PIN file must not be readable or writable by group "
                        "or others: use mode 0600 or 0400",
                        what, info.st_mode & 07777));
  }
  const uid_t euid = geteuid();
  if (info.st_uid != euid) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s is owned by uid %d, but Signet runs as uid %d; the PIN file must "
                        "belong to the user Signet runs as",
                        what, info.st_uid, euid));
  }
  if (info.st_size > static_cast<off_t>(kMaxPinBytes)) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s is larger than %d bytes, too large to be a PIN", what, kMaxPinBytes));
  }
  return absl::OkStatus();
}

// `what` names the file for error messages, e.g. "PIN file /etc/signet/pin".
absl::StatusOr<SecretString> ReadPinFile(const std::string& path, absl::string_view what) {
  // O_NONBLOCK keeps open() from hanging on a FIFO; it is refused below as
  // not a regular file, and does not change how a regular file reads.
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) return OpenError(errno, what);

  struct stat info;
  if (fstat(fd.get(), &info) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot stat ", what));
  }
  RETURN_IF_ERROR(CheckPinFile(info, what));

  // One byte more than allowed, so a file that grew after fstat() is caught.
  WipedBuffer<kMaxPinBytes + 1> buffer;
  std::size_t filled = 0;
  while (filled < buffer.size()) {
    const ssize_t n = read(fd.get(), buffer.data() + filled, buffer.size() - filled);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::ErrnoToStatus(errno, absl::StrCat("cannot read ", what));
    if (n == 0) break;
    filled += static_cast<std::size_t>(n);
  }
  if (filled > kMaxPinBytes) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s is larger than %d bytes, too large to be a PIN", what, kMaxPinBytes));
  }

  SecretString pin;
  pin.Append(std::string_view(buffer.data(), filled));
  pin.TrimTrailingNewlines();
  if (pin.empty()) return absl::FailedPreconditionError(absl::StrCat(what, " is empty"));
  return pin;
}

bool IsValidEnvironmentVariableName(absl::string_view name) {
  if (name.empty() || name.size() > 255 || absl::ascii_isdigit(name.front())) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '_') return false;
  }
  return true;
}

// The rule systemd applies to credential names: a plain file name.
bool IsValidCredentialName(absl::string_view name) {
  return !name.empty() && name.size() <= NAME_MAX && name != "." && name != ".." &&
         name.find_first_of(absl::string_view("/\0", 2)) == absl::string_view::npos;
}

absl::StatusOr<std::unique_ptr<PinSource>> MakeFilePinSource(absl::string_view path) {
  if (!absl::StartsWith(path, "/")) {
    return absl::InvalidArgumentError(
        "a file PIN source needs an absolute path, as in file:/etc/signet/token.pin");
  }
  if (path.size() >= PATH_MAX || path.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError("a file PIN source path is too long or contains a NUL byte");
  }
  return std::make_unique<FilePinSource>(std::string(path));
}

}  // namespace

PinSource::~PinSource() = default;

FilePinSource::FilePinSource(std::string path) : path_(std::move(path)) {}

absl::StatusOr<SecretString> FilePinSource::Read() const {
  return ReadPinFile(path_, absl::StrCat("PIN file ", path_));
}

std::string FilePinSource::Describe() const { return absl::StrCat("file:", path_); }

EnvPinSource::EnvPinSource(std::string variable_name) : variable_name_(std::move(variable_name)) {}

absl::StatusOr<SecretString> EnvPinSource::Read() const {
  const char* value = std::getenv(variable_name_.c_str());
  if (value == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("environment variable ", variable_name_, " (the PIN source) is not set"));
  }
  const std::string_view text(value);
  if (text.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("environment variable ", variable_name_, " (the PIN source) is empty"));
  }
  if (text.size() > kMaxPinBytes) {
    return absl::FailedPreconditionError(
        absl::StrFormat("environment variable %s (the PIN source) is longer than %d bytes, too "
                        "long to be a PIN",
                        variable_name_, kMaxPinBytes));
  }
  return SecretString(text);
}

std::string EnvPinSource::Describe() const { return absl::StrCat("env:", variable_name_); }

SystemdCredentialPinSource::SystemdCredentialPinSource(std::string name) : name_(std::move(name)) {}

// systemd normally puts credentials on a private ramfs/tmpfs, owned by the
// service user with mode 0400, so the FilePinSource checks hold unchanged.
// Where it cannot mount one (some containers) it falls back to root-owned
// files plus an ACL; those fail the owner check, and that is left as an error
// rather than loosened, since an ACL'd file is readable beyond its owner.
absl::StatusOr<SecretString> SystemdCredentialPinSource::Read() const {
  if (!IsValidCredentialName(name_)) {
    return absl::InvalidArgumentError("a systemd credential name must be a plain file name");
  }
  const char* directory = std::getenv(kCredentialsDirectoryVariable);
  if (directory == nullptr || *directory == '\0') {
    return absl::FailedPreconditionError(
        absl::StrCat(kCredentialsDirectoryVariable, " is not set, so systemd credential ", name_,
                     " cannot be read; the service unit needs LoadCredential=", name_, ":<path>"));
  }
  if (directory[0] != '/') {
    return absl::FailedPreconditionError(
        absl::StrCat(kCredentialsDirectoryVariable, " is not an absolute path"));
  }
  const std::string path = absl::StrCat(directory, "/", name_);
  return ReadPinFile(path, absl::StrCat("systemd credential ", name_, " (", path, ")"));
}

std::string SystemdCredentialPinSource::Describe() const {
  return absl::StrCat("systemd-credential:", name_);
}

LiteralPinSourceForTests::LiteralPinSourceForTests(SecretString pin) : pin_(std::move(pin)) {}

absl::StatusOr<SecretString> LiteralPinSourceForTests::Read() const { return pin_; }

std::string LiteralPinSourceForTests::Describe() const { return "literal (tests only)"; }

absl::StatusOr<std::unique_ptr<PinSource>> ParsePinSource(absl::string_view spec) {
  if (absl::ConsumePrefix(&spec, "env:")) {
    if (!IsValidEnvironmentVariableName(spec)) {
      return absl::InvalidArgumentError(
          "an env: PIN source needs an environment variable name (letters, digits and '_', not "
          "starting with a digit)");
    }
    return std::make_unique<EnvPinSource>(std::string(spec));
  }
  if (absl::ConsumePrefix(&spec, "systemd-credential:")) {
    if (!IsValidCredentialName(spec)) {
      return absl::InvalidArgumentError(
          "a systemd-credential: PIN source needs a credential name (a plain file name, as in "
          "LoadCredential=)");
    }
    return std::make_unique<SystemdCredentialPinSource>(std::string(spec));
  }
  // "file://" before "file:": in "file://host/x" the "//host" is an
  // authority, not the start of a path.
  if (absl::ConsumePrefix(&spec, "file://")) {
    if (!absl::StartsWith(spec, "/")) {
      return absl::InvalidArgumentError(
          "a file:// PIN source must name a local absolute path, as in "
          "file:///etc/signet/token.pin");
    }
    return MakeFilePinSource(spec);
  }
  if (absl::ConsumePrefix(&spec, "file:")) return MakeFilePinSource(spec);
  if (absl::StartsWith(spec, "/")) return MakeFilePinSource(spec);
  return absl::InvalidArgumentError(
      "a PIN source must be file:/absolute/path, file:///absolute/path, /absolute/path, "
      "env:NAME or systemd-credential:NAME (the value given is not repeated, in case it is a "
      "PIN)");
}

}  // namespace signet
