#include "common/command_options.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;
using ::signet::matchers::IsOkAndHolds;
using ::signet::matchers::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr OptionSpec kOptions[] = {
    {"key"},
    {"recipient", OptionKind::kRepeated},
    {"pss", OptionKind::kFlag},
};
constexpr OptionSpec kConnection[] = {{"socket"}, {"progress", OptionKind::kFlag}};

const OptionSyntax kSign = {.command = "sign", .options = kOptions, .arguments = true};
const OptionSyntax kNoArguments = {.command = "keys", .options = kOptions};

absl::StatusOr<ParsedOptions> Parse(std::vector<std::string> args,
                                    const OptionSyntax& syntax = kSign) {
  return ParseOptions(args, syntax);
}

// The message of the error that parsing `args` must end in.
std::string Error(std::vector<std::string> args, const OptionSyntax& syntax = kSign) {
  absl::StatusOr<ParsedOptions> parsed = ParseOptions(args, syntax);
  EXPECT_THAT(parsed, StatusIs(absl::StatusCode::kInvalidArgument)) << args.front();
  return std::string(parsed.status().message());
}

TEST(CommandOptionsTest, ValuesFlagsAndArguments) {
  ASSERT_OK_AND_ASSIGN(ParsedOptions parsed,
                       Parse({"in.eml", "--key", "bank", "--pss", "--recipient=a.pem", "-",
                              "--recipient", "b.pem"}));
  EXPECT_TRUE(parsed.Has("key"));
  EXPECT_EQ(parsed.Value("key"), "bank");
  EXPECT_TRUE(parsed.Has("pss"));
  EXPECT_THAT(parsed.Values("recipient"), ElementsAre("a.pem", "b.pem"));
  EXPECT_EQ(parsed.Value("recipient"), "a.pem");
  // "-" is stdin or stdout, an argument like any file.
  EXPECT_THAT(parsed.arguments(), ElementsAre("in.eml", "-"));
  EXPECT_FALSE(parsed.help());
}

TEST(CommandOptionsTest, WhatWasNotGivenIsAbsent) {
  ASSERT_OK_AND_ASSIGN(ParsedOptions parsed, Parse({}));
  EXPECT_FALSE(parsed.Has("key"));
  EXPECT_FALSE(parsed.Has("pss"));
  EXPECT_EQ(parsed.Value("key"), std::nullopt);
  EXPECT_THAT(parsed.Values("recipient"), IsEmpty());
  EXPECT_THAT(parsed.arguments(), IsEmpty());
}

TEST(CommandOptionsTest, RequiredNamesTheMissingOption) {
  ASSERT_OK_AND_ASSIGN(ParsedOptions parsed, Parse({"--key", "bank"}));
  EXPECT_THAT(parsed.Required("key"), IsOkAndHolds("bank"));
  EXPECT_THAT(parsed.Required("recipient"),
              StatusIs(absl::StatusCode::kInvalidArgument, "--recipient is required"));
}

TEST(CommandOptionsTest, DoubleDashEndsTheOptions) {
  ASSERT_OK_AND_ASSIGN(ParsedOptions parsed, Parse({"--pss", "--", "--odd-name.eml", "-h"}));
  EXPECT_THAT(parsed.arguments(), ElementsAre("--odd-name.eml", "-h"));
  EXPECT_FALSE(parsed.help());
}

TEST(CommandOptionsTest, HelpAnywhere) {
  for (const char* help : {"--help", "-h"}) {
    ASSERT_OK_AND_ASSIGN(ParsedOptions parsed, Parse({"--key", "k", help, "in.eml"}));
    EXPECT_TRUE(parsed.help()) << help;
    EXPECT_EQ(parsed.Value("key"), "k");
  }
}

TEST(CommandOptionsTest, AValueMayStartWithOneDashOrBeGivenAfterTheEqualsSign) {
  ASSERT_OK_AND_ASSIGN(ParsedOptions parsed, Parse({"--key", "-1"}));
  EXPECT_EQ(parsed.Value("key"), "-1");
  ASSERT_OK_AND_ASSIGN(parsed, Parse({"--key=--pss"}));
  EXPECT_EQ(parsed.Value("key"), "--pss");
  EXPECT_FALSE(parsed.Has("pss"));
  EXPECT_TRUE(CanBeSeparateValue("-"));
  EXPECT_FALSE(CanBeSeparateValue("--pss"));
}

TEST(CommandOptionsTest, ErrorsNameTheOptionAndTheProblem) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"--bogus"}, "unknown option --bogus"},
           {{"--bogus=1"}, "unknown option --bogus"},
           {{"-x"}, "unknown option -x"},
           {{"--key"}, "--key needs a value"},
           {{"--key="}, "--key needs a value"},
           // The next option is not the value: the value was forgotten.
           {{"--key", "--pss"}, "--key needs a value"},
           {{"--recipient", "a", "--recipient"}, "--recipient needs a value"},
           {{"--pss=yes"}, "--pss takes no value"},
           {{"--key", "a", "--key", "b"}, "--key is given twice"},
           {{"--pss", "--pss"}, "--pss is given twice"},
           {{"--socket", "s"}, "unknown option --socket"},
       }) {
    EXPECT_EQ(Error(c.args), c.message);
  }
}

TEST(CommandOptionsTest, AnOptionOfOtherCommandsIsSaidNotToApply) {
  const OptionSyntax audit = {
      .command = "audit verify", .options = kOptions, .not_here = kConnection};
  EXPECT_EQ(Error({"--socket", "s"}, audit), "--socket does not apply to audit verify");
  EXPECT_EQ(Error({"--progress"}, audit), "--progress does not apply to audit verify");
  EXPECT_EQ(Error({"--bogus"}, audit), "unknown option --bogus");
}

TEST(CommandOptionsTest, ArgumentsAreRefusedWhereTheCommandTakesNone) {
  EXPECT_EQ(Error({"--key", "k", "extra"}, kNoArguments),
            "unexpected argument in position 3 (options start with --)");
  EXPECT_EQ(Error({"-"}, kNoArguments),
            "unexpected argument in position 1 (options start with --)");
  EXPECT_EQ(Error({"--", "file"}, kNoArguments),
            "unexpected argument in position 2 (options start with --)");
  EXPECT_THAT(ParseOptions(std::vector<std::string>{"--key", "k", "--pss"}, kNoArguments), IsOk());
}

// A PIN where an option or an argument belongs is named by its position,
// never repeated.
TEST(CommandOptionsTest, ErrorsDoNotRepeatWhatIsNotAName) {
  const std::string pin = "user-pin-4815162342";
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"--key", "k", "--" + pin}, "unknown option in position 3"},
           {{"--" + pin + "=x"}, "unknown option in position 1"},
           {{"-" + pin}, "unknown option in position 1"},
           {{"--Key", "k"}, "unknown option in position 1"},
           {{"--key", "k", pin}, "unexpected argument in position 3 (options start with --)"},
       }) {
    const std::string message = Error(c.args, kNoArguments);
    EXPECT_EQ(message, c.message);
    EXPECT_THAT(message, Not(HasSubstr("4815162342")));
  }
}

TEST(CommandOptionsTest, ParsingAgainAddsToWhatWasRead) {
  const OptionSyntax syntax = {.command = "sign", .options = kOptions, .arguments = true};
  ParsedOptions parsed;
  ASSERT_THAT(parsed.Parse(std::vector<std::string>{"--recipient", "a", "--pss"}, syntax), IsOk());
  ASSERT_THAT(parsed.Parse(std::vector<std::string>{"--recipient", "b", "in"}, syntax), IsOk());
  EXPECT_THAT(parsed.Values("recipient"), ElementsAre("a", "b"));
  EXPECT_THAT(parsed.arguments(), ElementsAre("in"));
  EXPECT_THAT(parsed.Parse(std::vector<std::string>{"--pss"}, syntax),
              StatusIs(absl::StatusCode::kInvalidArgument, "--pss is given twice"));
}

TEST(CommandOptionsTest, LooksLikeName) {
  EXPECT_TRUE(LooksLikeName("pin-source"));
  EXPECT_TRUE(LooksLikeName("keygen"));
  EXPECT_FALSE(LooksLikeName(""));
  EXPECT_FALSE(LooksLikeName("123456"));
  EXPECT_FALSE(LooksLikeName("sha256"));
  EXPECT_FALSE(LooksLikeName("Key"));
  EXPECT_FALSE(LooksLikeName("key=value"));
  EXPECT_FALSE(LooksLikeName(std::string(41, 'a')));
  EXPECT_TRUE(LooksLikeName(std::string(40, 'a')));
}

}  // namespace
}  // namespace signet
