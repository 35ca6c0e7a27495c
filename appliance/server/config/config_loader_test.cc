#include "appliance/server/config/config_loader.h"

#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::server {
namespace {

using ::signet::matchers::IsOk;
using ::testing::Not;

using config::v1::Config;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::testing::StartsWith;

std::vector<std::string> ErrorLines(const absl::Status& status) {
  return absl::StrSplit(status.message(), '\n');
}

// The error lines of parsing `text` as "t.textproto".
std::vector<std::string> ParseErrors(const std::string& text) {
  absl::StatusOr<Config> config = ParseConfigText(text, "t.textproto");
  EXPECT_THAT(config, Not(IsOk())) << "parsed:\n" << text;
  if (config.ok()) return {};
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  return ErrorLines(config.status());
}

TEST(ParseConfigTextTest, ParsesAConfig) {
  absl::StatusOr<Config> config =
      ParseConfigText(R"pb(
                        # A comment.
                        listeners { unix { path: "/run/signet.sock" mode: 0660 } }
                        tokens {
                          name: "usb"
                          module: "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"
                          label: "My token"
                          pin { env: "PIN" }
                          max_in_flight: 1
                        }
                        keys { name: "k" token: "usb" id_hex: "01" purpose: DECRYPT }
                        callers {
                          name: "me"
                          unix_uid: 1000
                          grants { keys: "k" operations: DECRYPT_MAIL }
                        }
                        limits { requests_per_second: 2.5 burst: 5 }
                      )pb",
                      "t");
  ASSERT_THAT(config, IsOk());
  ASSERT_EQ(config->listeners_size(), 1);
  // Octal, as a file mode is written.
  EXPECT_EQ(config->listeners(0).unix().mode(), 0660u);
  ASSERT_EQ(config->tokens_size(), 1);
  EXPECT_EQ(config->tokens(0).label(), "My token");
  EXPECT_EQ(config->tokens(0).pin().env(), "PIN");
  EXPECT_EQ(config->keys(0).purpose(), config::v1::DECRYPT);
  EXPECT_EQ(config->callers(0).grants(0).operations(0), config::v1::DECRYPT_MAIL);
  EXPECT_EQ(config->limits().requests_per_second(), 2.5);
}

TEST(ParseConfigTextTest, EmptyTextIsAnEmptyConfig) {
  absl::StatusOr<Config> config = ParseConfigText("# nothing yet\n\n", "t");
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->ByteSizeLong(), 0u);
}

TEST(ParseConfigTextTest, RoundTripsThroughTheTextFormat) {
  Config original;
  original.add_listeners()->mutable_tcp()->set_address("[::1]:8443");
  original.mutable_listeners(0)->mutable_tcp()->set_client_ca_file("/etc/ca.pem");
  config::v1::Token* token = original.add_tokens();
  token->set_name("hsm");
  token->set_module("/usr/lib/libhsm.so");
  token->set_uri("pkcs11:token=Bank%20HSM");
  token->mutable_pin()->set_systemd_credential("hsm-pin");
  token->set_max_in_flight(48);
  config::v1::Key* key = original.add_keys();
  key->set_name("s");
  key->set_token("hsm");
  key->set_label("label with \"quotes\" and \\ and \n");
  key->set_purpose(config::v1::SIGN);
  key->add_sender_addresses("a@bank.example");
  config::v1::Caller* caller = original.add_callers();
  caller->set_name("c");
  caller->set_unix_uid(0);  // a oneof member: set even at 0
  caller->add_grants()->add_keys("*");
  caller->mutable_grants(0)->add_operations(config::v1::READ_KEYS);
  original.mutable_limits()->set_max_message_bytes(uint64_t{1} << 33);
  original.mutable_limits()->set_requests_per_second(0.125);
  original.mutable_audit()->set_path("/var/log/signet/audit");
  original.set_trust_anchors_file("/etc/ssl/anchors.pem");

  std::string text;
  ASSERT_TRUE(google::protobuf::TextFormat::PrintToString(original, &text));
  absl::StatusOr<Config> parsed = ParseConfigText(text, "t");
  ASSERT_THAT(parsed, IsOk()) << parsed.status() << "\n" << text;
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(original, *parsed))
      << parsed->DebugString();
  EXPECT_EQ(parsed->callers(0).identity_case(), config::v1::Caller::kUnixUid);
}

TEST(ParseConfigTextTest, UnknownFieldNamesItsLineAndColumn) {
  EXPECT_THAT(ParseErrors("tokens {\n  name: \"a\"\n  modul: \"/x.so\"\n}\n"),
              ElementsAre("t.textproto:3:3: Message type \"signet.config.v1.Token\" has no field "
                          "named \"modul\"."));
}

TEST(ParseConfigTextTest, UnknownTopLevelField) {
  EXPECT_THAT(ParseErrors("\n\n    listener { }\n"),
              ElementsAre("t.textproto:3:5: Message type \"signet.config.v1.Config\" has no "
                          "field named \"listener\"."));
}

TEST(ParseConfigTextTest, ColumnsCountBytesNotTabStops) {
  EXPECT_THAT(ParseErrors("tokens {\n\t\tmodul: \"/x.so\"\n}\n"),
              ElementsAre(StartsWith("t.textproto:2:3: Message type")));
  EXPECT_THAT(ParseErrors("tokens {\n \tmodul: \"/x.so\"\n}\n"),
              ElementsAre(StartsWith("t.textproto:2:3: Message type")));
}

TEST(ParseConfigTextTest, BadEnumValuePointsAtTheValue) {
  // The value ends its line; the error must not land on the next one.
  EXPECT_THAT(ParseErrors("keys {\n  name: \"k\"\n  purpose: SIGNING\n}\n"),
              ElementsAre("t.textproto:3:12: Unknown enumeration value of \"SIGNING\" for field "
                          "\"purpose\"."));
}

TEST(ParseConfigTextTest, BadNumbers) {
  EXPECT_THAT(ParseErrors("tokens { max_in_flight: -1 }"),
              ElementsAre("t.textproto:1:25: Expected integer, got: -"));
  EXPECT_THAT(ParseErrors("tokens { max_in_flight: 4294967296 }"),
              ElementsAre("t.textproto:1:25: Integer out of range (4294967296)"));
  EXPECT_THAT(ParseErrors("tokens { max_in_flight: 2.5 }"),
              ElementsAre("t.textproto:1:25: Expected integer, got: 2.5"));
  EXPECT_THAT(ParseErrors("limits { requests_per_second: fast }"),
              ElementsAre(HasSubstr("t.textproto:1:31: ")));
}

TEST(ParseConfigTextTest, SyntaxErrors) {
  EXPECT_THAT(ParseErrors("tokens { name \"a\" }"),
              ElementsAre("t.textproto:1:15: Expected \":\", found \"\"a\"\"."));
  EXPECT_THAT(ParseErrors("tokens { name: \"a\" }\n}\n"),
              ElementsAre("t.textproto:2:1: Expected identifier, got: }"));
  EXPECT_THAT(ParseErrors("tokens { name: \"a\"\n"), ElementsAre(StartsWith("t.textproto:2:1: ")));
  // At the character after the backslash.
  EXPECT_THAT(ParseErrors("tokens { name: \"a\\q\" }"),
              ElementsAre("t.textproto:1:19: Invalid escape sequence in string literal."));
  EXPECT_THAT(ParseErrors("\x01listeners {}"),
              ElementsAre("t.textproto:1:1: Invalid control characters encountered in text."));
}

TEST(ParseConfigTextTest, OneofGivenTwice) {
  EXPECT_THAT(ParseErrors("tokens { label: \"a\" serial: \"b\" }"),
              ElementsAre("t.textproto:1:21: Field \"serial\" is specified along with field "
                          "\"label\", another member of oneof \"selector\"."));
}

TEST(ParseConfigTextTest, SingularFieldGivenTwice) {
  EXPECT_THAT(ParseErrors("limits { burst: 1 }\naudit { }\nlimits { burst: 2 }\n"),
              ElementsAre("t.textproto:3:1: Non-repeated field \"limits\" is specified multiple "
                          "times."));
  EXPECT_THAT(ParseErrors("audit {\n  path: \"/a\"\n  path: \"/b\"\n}\n"),
              ElementsAre("t.textproto:3:3: Non-repeated field \"path\" is specified multiple "
                          "times."));
}

TEST(ParseConfigTextTest, ReportsEveryError) {
  const std::string text =
      "listeners { tcp { adress: \"0.0.0.0:1\" } }\n"  // unknown field
      "tokens {\n"
      "  name: \"a\"\n"
      "  modul: \"/x.so\"\n"     // unknown field; parsing goes on
      "  max_in_flight: many\n"  // bad number; this token's parse stops
      "  pin { fil: \"/p\" }\n"  // not reached
      "}\n"
      "keys { purpose: SING }\n"  // bad enum in the next element
      "callers { grants { operations: [SIGN_MAIL, SING_DIGEST] } }\n"
      "limits { burst: 1 }\n";
  EXPECT_THAT(
      ParseErrors(text),
      ElementsAre(
          "t.textproto:1:19: Message type \"signet.config.v1.TcpListener\" has no field named "
          "\"adress\".",
          "t.textproto:4:3: Message type \"signet.config.v1.Token\" has no field named "
          "\"modul\".",
          "t.textproto:5:18: Expected integer, got: many",
          "t.textproto:8:17: Unknown enumeration value of \"SING\" for field \"purpose\".",
          "t.textproto:9:44: Unknown enumeration value of \"SING_DIGEST\" for field "
          "\"operations\"."));
}

TEST(ParseConfigTextTest, StopsAfterTwentyErrors) {
  std::string text;
  for (int i = 0; i < 30; ++i) absl::StrAppend(&text, "tokens { nme: \"t", i, "\" }\n");
  std::vector<std::string> errors = ParseErrors(text);
  ASSERT_THAT(errors, SizeIs(kMaxParseErrors + 1));
  EXPECT_THAT(errors.front(), StartsWith("t.textproto:1:10: "));
  EXPECT_THAT(errors[kMaxParseErrors - 1], StartsWith("t.textproto:20:10: "));
  EXPECT_EQ(errors.back(), "t.textproto: more errors follow; fix these first");
}

TEST(ParseConfigTextTest, RefusesTooMuchText) {
  absl::StatusOr<Config> config = ParseConfigText(std::string(kMaxConfigBytes + 1, ' '), "big");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(config.status().message()), StartsWith("big: "));
}

class LoadConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/config_loader_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    for (const std::string& file : files_) unlink(file.c_str());
    rmdir(dir_.c_str());
  }

  std::string Write(const std::string& name, const std::string& contents) {
    std::string path = absl::StrCat(dir_, "/", name);
    std::ofstream(path, std::ios::binary) << contents;
    files_.push_back(path);
    return path;
  }

  std::string dir_;
  std::vector<std::string> files_;
};

TEST_F(LoadConfigTest, LoadsAFile) {
  std::string path = Write("signetd.textproto", "audit { path: \"/var/log/audit\" }\n");
  absl::StatusOr<Config> config = LoadConfig(path);
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->audit().path(), "/var/log/audit");
}

TEST_F(LoadConfigTest, ErrorsNameTheFile) {
  std::string path = Write("signetd.textproto", "\naudit { pth: \"/x\" }\n");
  absl::StatusOr<Config> config = LoadConfig(path);
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ErrorLines(config.status()), ElementsAre(StartsWith(absl::StrCat(path, ":2:9: "))));
}

TEST_F(LoadConfigTest, MissingFile) {
  std::string path = absl::StrCat(dir_, "/absent.textproto");
  absl::StatusOr<Config> config = LoadConfig(path);
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(config.status().message()), StartsWith(path));
}

TEST_F(LoadConfigTest, UnreadableFile) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads any file";
  std::string path = Write("secret.textproto", "");
  ASSERT_EQ(chmod(path.c_str(), 0), 0);
  absl::StatusOr<Config> config = LoadConfig(path);
  EXPECT_EQ(config.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(config.status().message()), StartsWith(path));
}

TEST_F(LoadConfigTest, DirectoryIsRefused) {
  absl::StatusOr<Config> config = LoadConfig(dir_);
  EXPECT_EQ(config.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("not a regular file"));
}

TEST_F(LoadConfigTest, FifoIsRefusedWithoutBlocking) {
  std::string path = absl::StrCat(dir_, "/fifo");
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  files_.push_back(path);
  absl::StatusOr<Config> config = LoadConfig(path);
  EXPECT_EQ(config.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(LoadConfigTest, TooLargeFileIsRefused) {
  std::string text = "# padding\n";
  text.resize(kMaxConfigBytes + 1, ' ');
  std::string path = Write("big.textproto", text);
  absl::StatusOr<Config> config = LoadConfig(path);
  EXPECT_EQ(config.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("larger than 1024 KiB"));

  // Exactly at the limit is fine.
  text.resize(kMaxConfigBytes);
  path = Write("limit.textproto", text);
  EXPECT_THAT(LoadConfig(path), IsOk());
}

}  // namespace
}  // namespace signet::server
