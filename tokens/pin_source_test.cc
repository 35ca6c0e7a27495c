#include "tokens/pin_source.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/secret.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;

using ::testing::HasSubstr;
using ::testing::Not;

// Every file and variable in these tests holds this PIN, so every error can
// be checked for it.
constexpr char kPin[] = "s3cret-PIN-4711";

void ExpectPinNotLeaked(const absl::Status& status) {
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr(kPin)));
  EXPECT_THAT(status.ToString(), Not(HasSubstr(kPin)));
}

// Sets an environment variable for the life of the object, then puts back
// whatever was there before.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, std::optional<std::string> value) : name_(std::move(name)) {
    if (const char* old = getenv(name_.c_str())) old_ = old;
    Set(value);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  ~ScopedEnv() { Set(old_); }

 private:
  void Set(const std::optional<std::string>& value) {
    if (value.has_value()) {
      setenv(name_.c_str(), value->c_str(), /*overwrite=*/1);
    } else {
      unsetenv(name_.c_str());
    }
  }

  std::string name_;
  std::optional<std::string> old_;
};

class PinSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "signet_pin_source_test_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes `content` to a new file in the test directory with exactly `mode`
  // (umask does not apply) and returns its path.
  std::string WriteFile(absl::string_view name, absl::string_view content, mode_t mode = 0600) {
    const std::string path = absl::StrCat(dir_, "/", name);
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    EXPECT_GE(fd, 0) << path;
    if (fd < 0) return path;
    EXPECT_EQ(write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    EXPECT_EQ(fchmod(fd, mode), 0);
    close(fd);
    return path;
  }

  std::string dir_;
};

TEST_F(PinSourceTest, FileWithMode0600IsReadAndTrailingNewlinesTrimmed) {
  FilePinSource source(WriteFile("pin", absl::StrCat(kPin, "\n")));
  absl::StatusOr<SecretString> pin = source.Read();
  ASSERT_THAT(pin, IsOk());
  EXPECT_EQ(pin->ExposeAsText(), kPin);
}

TEST_F(PinSourceTest, FileWithMode0400AndCrLfIsRead) {
  FilePinSource source(WriteFile("pin", absl::StrCat(kPin, "\r\n\n"), 0400));
  absl::StatusOr<SecretString> pin = source.Read();
  ASSERT_THAT(pin, IsOk());
  EXPECT_EQ(pin->ExposeAsText(), kPin);
}

TEST_F(PinSourceTest, FileOfExactlyTheMaximumSizeIsRead) {
  const std::string content(kMaxPinBytes, '7');
  FilePinSource source(WriteFile("pin", content));
  absl::StatusOr<SecretString> pin = source.Read();
  ASSERT_THAT(pin, IsOk());
  EXPECT_EQ(pin->ExposeAsText(), content);
}

TEST_F(PinSourceTest, FileReadableByOthersIsRefusedNamingPathAndMode) {
  const std::string path = WriteFile("pin", kPin, 0644);
  absl::StatusOr<SecretString> pin = FilePinSource(path).Read();
  ASSERT_THAT(pin, Not(IsOk()));
  EXPECT_EQ(pin.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(pin.status().message()), HasSubstr(path));
  EXPECT_THAT(std::string(pin.status().message()), HasSubstr("0644"));
  EXPECT_THAT(std::string(pin.status().message()), HasSubstr("0600 or 0400"));
  ExpectPinNotLeaked(pin.status());
}

TEST_F(PinSourceTest, FileAccessibleByGroupIsRefused) {
  for (mode_t mode : {0640, 0620, 0610, 0601, 0602, 0604}) {
    const std::string path = WriteFile(absl::StrCat("pin", mode), kPin, mode);
    absl::StatusOr<SecretString> pin = FilePinSource(path).Read();
    ASSERT_THAT(pin, Not(IsOk())) << std::oct << mode;
    EXPECT_EQ(pin.status().code(), absl::StatusCode::kFailedPrecondition);
    ExpectPinNotLeaked(pin.status());
  }
}

TEST_F(PinSourceTest, SymlinkIsRefused) {
  const std::string target = WriteFile("pin", kPin);
  const std::string link = absl::StrCat(dir_, "/link");
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);
  absl::StatusOr<SecretString> pin = FilePinSource(link).Read();
  ASSERT_THAT(pin, Not(IsOk()));
  EXPECT_THAT(std::string(pin.status().message()), HasSubstr("symbolic link"));
  EXPECT_THAT(std::string(pin.status().message()), HasSubstr(link));
  ExpectPinNotLeaked(pin.status());
}

TEST_F(PinSourceTest, DirectoryIsRefused) {
  absl::StatusOr<SecretString> pin = FilePinSource(dir_).Read();
  ASSERT_THAT(pin, Not(IsOk()));
  EXPECT_EQ(pin.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(pin.status().message()), HasSubstr("not a regular file"));
}

TEST_F(PinSourceTest, FifoIsRefusedWithoutBlocking) {
  const std::string path = absl::StrCat(dir_, "/fifo");
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  absl::StatusOr<SecretString> pin = FilePinSource(path).Read();
  ASSERT_THAT(pin, Not(IsOk()));
  EXPECT_THAT(std::string(pin.status().message()), HasSubstr("not a regular file"));
}

TEST_F(PinSourceTest, TooLargeFileIsRefused) {
  const std::string path = WriteFile("pin", absl::StrCat(kPin, std::string(kMaxPinBytes, '\n')));
  absl::StatusOr<SecretString> pin = FilePinSource(path).Read();
  ASSERT_THAT(pin, Not(IsOk()));
  EXPECT_THAT(std::string(pin.status().message()), HasSubstr("larger than 256 bytes"));
  ExpectPinNotLeaked(pin.status());
}

TEST_F(PinSourceTest, EmptyFileIsRefused) {
  for (absl::string_view content : {"", "\n", "\r\n\n"}) {
    const std::string path = WriteFile(absl::StrCat("pin", content.size()), content);
    absl::StatusOr<SecretString> pin = FilePinSource(path).Read();
    ASSERT_THAT(pin, Not(IsOk()));
    EXPECT_EQ(pin.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(std::string(pin.status().message()), HasSubstr("empty"));
  }
}

TEST_F(PinSourceTest, MissingFileIsNotFound) {
  const std::string path = absl::StrCat(dir_, "/absent");
  absl::StatusOr<SecretString> pin = FilePinSource(path).Read();
  ASSERT_THAT(pin, Not(IsOk()));
  EXPECT_EQ(pin.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(pin.status().message()), HasSubstr(path));
}

TEST_F(PinSourceTest, FileOwnedBySomeoneElseIsRefused) {
  // Only root can give a file away.
  if (geteuid() != 0) GTEST_SKIP() << "needs root to chown a file";
  const std::string path = WriteFile("pin", kPin);
  ASSERT_EQ(chown(path.c_str(), 65534, 65534), 0);
  absl::StatusOr<SecretString> pin = FilePinSource(path).Read();
  ASSERT_THAT(pin, Not(IsOk()));
  EXPECT_THAT(std::string(pin.status().message()), HasSubstr("owned by uid 65534"));
  ExpectPinNotLeaked(pin.status());
}

TEST_F(PinSourceTest, FileDescribesItselfByPath) {
  EXPECT_EQ(FilePinSource("/etc/signet/bank.pin").Describe(), "file:/etc/signet/bank.pin");
}

TEST(EnvPinSourceTest, ReadsTheVariable) {
  ScopedEnv env("SIGNET_TEST_PIN", std::string(kPin));
  absl::StatusOr<SecretString> pin = EnvPinSource("SIGNET_TEST_PIN").Read();
  ASSERT_THAT(pin, IsOk());
  EXPECT_EQ(pin->ExposeAsText(), kPin);
  EXPECT_EQ(EnvPinSource("SIGNET_TEST_PIN").Describe(), "env:SIGNET_TEST_PIN");
}

TEST(EnvPinSourceTest, UnsetVariableIsAnErrorNamingIt) {
  ScopedEnv env("SIGNET_TEST_PIN", std::nullopt);
  absl::StatusOr<SecretString> pin = EnvPinSource("SIGNET_TEST_PIN").Read();
  ASSERT_THAT(pin, Not(IsOk()));
  EXPECT_EQ(pin.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(pin.status().message()), HasSubstr("SIGNET_TEST_PIN"));
  EXPECT_THAT(std::string(pin.status().message()), HasSubstr("not set"));
}

TEST(EnvPinSourceTest, EmptyVariableIsAnErrorNamingIt) {
  ScopedEnv env("SIGNET_TEST_PIN", std::string());
  absl::StatusOr<SecretString> pin = EnvPinSource("SIGNET_TEST_PIN").Read();
  ASSERT_THAT(pin, Not(IsOk()));
  EXPECT_THAT(std::string(pin.status().message()), HasSubstr("SIGNET_TEST_PIN"));
  EXPECT_THAT(std::string(pin.status().message()), HasSubstr("empty"));
}

TEST(EnvPinSourceTest, OverlongVariableIsRefused) {
  ScopedEnv env("SIGNET_TEST_PIN", absl::StrCat(kPin, std::string(kMaxPinBytes, 'x')));
  absl::StatusOr<SecretString> pin = EnvPinSource("SIGNET_TEST_PIN").Read();
  ASSERT_THAT(pin, Not(IsOk()));
  EXPECT_THAT(std::string(pin.status().message()), HasSubstr("SIGNET_TEST_PIN"));
  ExpectPinNotLeaked(pin.status());
}

TEST_F(PinSourceTest, SystemdCredentialIsReadFromCredentialsDirectory) {
  WriteFile("bank-pin", absl::StrCat(kPin, "\n"), 0400);
  ScopedEnv env("CREDENTIALS_DIRECTORY", dir_);
  SystemdCredentialPinSource source("bank-pin");
  absl::StatusOr<SecretString> pin = source.Read();
  ASSERT_THAT(pin, IsOk());
  EXPECT_EQ(pin->ExposeAsText(), kPin);
  EXPECT_EQ(source.Describe(), "systemd-credential:bank-pin");
}

TEST_F(PinSourceTest, SystemdCredentialWithoutCredentialsDirectoryIsAClearError) {
  WriteFile("bank-pin", kPin, 0400);
  ScopedEnv env("CREDENTIALS_DIRECTORY", std::nullopt);
  absl::StatusOr<SecretString> pin = SystemdCredentialPinSource("bank-pin").Read();
  ASSERT_THAT(pin, Not(IsOk()));
  EXPECT_EQ(pin.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(pin.status().message()), HasSubstr("CREDENTIALS_DIRECTORY"));
  EXPECT_THAT(std::string(pin.status().message()), HasSubstr("bank-pin"));
}

TEST_F(PinSourceTest, SystemdCredentialGetsTheFileChecks) {
  WriteFile("bank-pin", kPin, 0644);
  ScopedEnv env("CREDENTIALS_DIRECTORY", dir_);
  absl::StatusOr<SecretString> pin = SystemdCredentialPinSource("bank-pin").Read();
  ASSERT_THAT(pin, Not(IsOk()));
  EXPECT_THAT(std::string(pin.status().message()), HasSubstr("0644"));
  ExpectPinNotLeaked(pin.status());
}

TEST_F(PinSourceTest, MissingSystemdCredentialIsNotFound) {
  ScopedEnv env("CREDENTIALS_DIRECTORY", dir_);
  absl::StatusOr<SecretString> pin = SystemdCredentialPinSource("bank-pin").Read();
  ASSERT_THAT(pin, Not(IsOk()));
  EXPECT_EQ(pin.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(pin.status().message()), HasSubstr("bank-pin"));
}

TEST(LiteralPinSourceForTestsTest, ReturnsItsPin) {
  LiteralPinSourceForTests source{SecretString(kPin)};
  absl::StatusOr<SecretString> pin = source.Read();
  ASSERT_THAT(pin, IsOk());
  EXPECT_EQ(pin->ExposeAsText(), kPin);
  EXPECT_EQ(source.Describe(), "literal (tests only)");
  EXPECT_THAT(source.Describe(), Not(HasSubstr(kPin)));
}

struct ParseCase {
  absl::string_view spec;
  absl::string_view description;
};

TEST(ParsePinSourceTest, AcceptsEveryForm) {
  for (const ParseCase& c : {
           ParseCase{"file:/etc/signet/bank.pin", "file:/etc/signet/bank.pin"},
           ParseCase{"file:///etc/signet/bank.pin", "file:/etc/signet/bank.pin"},
           ParseCase{"/etc/signet/bank.pin", "file:/etc/signet/bank.pin"},
           ParseCase{"env:SIGNET_PIN", "env:SIGNET_PIN"},
           ParseCase{"env:_pin2", "env:_pin2"},
           ParseCase{"systemd-credential:bank-pin", "systemd-credential:bank-pin"},
       }) {
    absl::StatusOr<std::unique_ptr<PinSource>> source = ParsePinSource(c.spec);
    ASSERT_THAT(source, IsOk()) << c.spec << ": " << source.status();
    EXPECT_EQ((*source)->Describe(), c.description);
  }
}

TEST(ParsePinSourceTest, MakesTheRightKindOfSource) {
  EXPECT_NE(dynamic_cast<FilePinSource*>(ParsePinSource("file:/x").value().get()), nullptr);
  EXPECT_NE(dynamic_cast<FilePinSource*>(ParsePinSource("file:///x").value().get()), nullptr);
  EXPECT_NE(dynamic_cast<FilePinSource*>(ParsePinSource("/x").value().get()), nullptr);
  EXPECT_NE(dynamic_cast<EnvPinSource*>(ParsePinSource("env:X").value().get()), nullptr);
  EXPECT_NE(dynamic_cast<SystemdCredentialPinSource*>(
                ParsePinSource("systemd-credential:x").value().get()),
            nullptr);
}

TEST_F(PinSourceTest, ParsedFileSourceReadsTheFile) {
  const std::string path = WriteFile("pin", kPin);
  absl::StatusOr<std::unique_ptr<PinSource>> source = ParsePinSource(absl::StrCat("file:", path));
  ASSERT_THAT(source, IsOk());
  absl::StatusOr<SecretString> pin = (*source)->Read();
  ASSERT_THAT(pin, IsOk());
  EXPECT_EQ(pin->ExposeAsText(), kPin);
}

TEST(ParsePinSourceTest, RefusesGarbageWithoutEchoingIt) {
  // Each spec with the part that must not come back in the error.
  const std::string pin(kPin);
  for (const auto& [spec, hidden] : std::initializer_list<std::pair<std::string, std::string>>{
           {pin, pin},                                 // a PIN where a source belongs
           {absl::StrCat("pin:", pin), pin},           // unknown prefix
           {absl::StrCat("FILE:/", pin), pin},         // prefixes are lower case
           {absl::StrCat("file:", pin), pin},          // relative path
           {absl::StrCat("file://", pin, "/x"), pin},  // remote file URI
           {absl::StrCat("env:", pin), pin},           // '-' is not allowed in a name
           {absl::StrCat("systemd-credential:", pin, "/x"), pin},
           {absl::StrCat("systemd-credential:../", pin), pin},
           {"env:1ABC", "1ABC"},
           {"relative/path", "relative/path"},
           {"systemd-credential:..", "systemd-credential:.."},
           {"env:", ""},
           {"file:", ""},
           {"systemd-credential:", ""},
           {"", ""},
       }) {
    absl::StatusOr<std::unique_ptr<PinSource>> source = ParsePinSource(spec);
    ASSERT_THAT(source, Not(IsOk())) << "accepted a bad PIN source";
    EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument);
    ExpectPinNotLeaked(source.status());
    if (!hidden.empty()) {
      EXPECT_THAT(std::string(source.status().message()), Not(HasSubstr(hidden)));
      EXPECT_THAT(source.status().ToString(), Not(HasSubstr(hidden)));
    }
  }
}

TEST(ParsePinSourceTest, RefusesPathWithNulByte) {
  absl::StatusOr<std::unique_ptr<PinSource>> source =
      ParsePinSource(absl::string_view("file:/etc/pin\0x", 15));
  ASSERT_THAT(source, Not(IsOk()));
  EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ParsePinSourceTest, GarbageErrorListsTheAcceptedForms) {
  absl::StatusOr<std::unique_ptr<PinSource>> source = ParsePinSource("123456");
  ASSERT_THAT(source, Not(IsOk()));
  const std::string message(source.status().message());
  EXPECT_THAT(message, HasSubstr("file:"));
  EXPECT_THAT(message, HasSubstr("env:"));
  EXPECT_THAT(message, HasSubstr("systemd-credential:"));
  EXPECT_THAT(message, Not(HasSubstr("123456")));
}

}  // namespace
}  // namespace signet
