// The sender binding against an independent RFC 5322 reader: each From (and
// Sender) in the table is decided by Signet's Authorizer and read by Python's
// email package (python_mailbox.py). Whenever Python reads exactly one author
// without guessing, Signet must decide as that reading implies; and every
// row must be decided as the table says.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "appliance/server/authorizer.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/subprocess.h"

namespace signet::server {
namespace {

using ::signet::matchers::IsOk;

constexpr char kConfig[] = R"pb(
  keys {
    name: "bank-signing"
    token: "hsm"
    label: "s"
    purpose: SIGN
    sender_addresses: "statements@bank.example"
    sender_addresses: "alerts@bank.example"
  }
)pb";

bool IsBound(const std::string& local, const std::string& domain) {
  return (local == "statements" || local == "alerts") &&
         absl::EqualsIgnoreCase(domain, "bank.example");
}

struct Row {
  std::string header;  // header fields before "Subject: x", each ending in CRLF
  bool signs;          // Signet signs it with bank-signing
};

std::string From(absl::string_view value) { return absl::StrCat("From: ", value, "\r\n"); }

const std::vector<Row>& Table() {
  static const auto* rows = new std::vector<Row>{
      // Bound, in the forms RFC 5322 allows.
      {From("statements@bank.example"), true},
      {From("alerts@bank.example"), true},
      {From("Bank Statements <statements@bank.example>"), true},
      {From("\"Example Bank\" <statements@bank.example>"), true},
      {From("<statements@bank.example>"), true},
      {From("statements@BANK.EXAMPLE"), true},
      {From("\"Alerts\" <alerts@Bank.Example>"), true},
      {From("\"statements\"@bank.example"), true},
      {From("\"stat\\ements\"@bank.example"), true},
      {From("statements@bank.example (the statements desk)"), true},
      {From("(desk) statements@bank.example"), true},
      {From("Bank (the bank) <statements@bank.example> (comment)"), true},
      {From("Bank (a (nested) comment) <statements@bank.example>"), true},
      {From("=?utf-8?q?B=C3=A4nk?= <statements@bank.example>"), true},
      {From("=?utf-8?b?QsOkbms=?= <statements@bank.example>"), true},
      {From("\"=?utf-8?q?Bank?=\" <statements@bank.example>"), true},
      {From("\"Bank, Statements\" <statements@bank.example>"), true},
      {From("\"Bank <ceo@bank.example>\" <statements@bank.example>"), true},
      {From("John Q. Public <statements@bank.example>"), true},
      {From("<@relay.example:statements@bank.example>"), true},
      {From("<@relay.example,@hub.example:statements@bank.example>"), true},
      {From("alerts @ bank . example"), true},
      {From(", statements@bank.example"), true},
      {From("statements@bank.example,"), true},
      {From("Statements <statements@bank.example>,"), true},
      {"From: Bank\r\n <statements@bank.example>\r\n", true},
      {"From: \"Example\r\n Bank\" <statements@bank.example>\r\n", true},
      {"FROM: statements@bank.example\r\n", true},
      {From("statements@bank.example") + "Sender: alerts@bank.example\r\n", true},
      {From("statements@bank.example") + "Sender: Desk <statements@bank.example>\r\n", true},
      // The four that got past the old extraction.
      {From("ceo@bank.example \"\", statements@bank.example"), false},
      {From("evil@x.org \"Example Bank\", statements@bank.example"), false},
      {From("<ceo@bank.example> <statements@bank.example>"), false},
      {From("ceo@bank.example\\<statements@bank.example>"), false},
      // Another sender, however it is dressed.
      {From("ceo@bank.example"), false},
      {From("Statements@bank.example"), false},  // local parts as configured
      {From("statements@bank.example.evil.example"), false},
      {From("statements@evil.example"), false},
      {From("\"statements@bank.example\" <ceo@bank.example>"), false},
      {From("\"statements@bank.example\"@evil.example"), false},
      {From("statements%bank.example@evil.example"), false},
      {From("statements@[192.0.2.1]"), false},
      {From("=?utf-8?q?statements=40bank.example?= <ceo@bank.example>"), false},
      {From("ceo@bank.example (statements@bank.example)"), false},
      {From("\"\\\"statements@bank.example\\\"\" <ceo@bank.example>"), false},
      {From("<@bank.example:ceo@evil.example>"), false},
      // More than one author, or not exactly one mailbox.
      {From("statements@bank.example, ceo@bank.example"), false},
      {From("ceo@bank.example, statements@bank.example"), false},
      {From("statements@bank.example, alerts@bank.example"), false},
      {From("ceo@bank.example, (x) statements@bank.example"), false},
      {"From: statements@bank.example,\r\n ceo@bank.example\r\n", false},
      {From("Group: statements@bank.example;"), false},
      {From("undisclosed-recipients:;"), false},
      {From(""), false},
      {"To: statements@bank.example\r\n", false},
      {From("statements@bank.example") + From("statements@bank.example"), false},
      {From("statements@bank.example") + From("ceo@bank.example"), false},
      // What cannot be read with certainty.
      {From("statements@bank.example <ceo@bank.example>"), false},
      {From("<ceo@bank.example>statements@bank.example"), false},
      {From("<statements@bank.example> (Bank) <ceo@bank.example>"), false},
      {"From: statements@bank.example\r\n\tceo@bank.example\r\n", false},
      {From("<statements@bank.example"), false},
      {From("statements@bank.example>"), false},
      {From("\"statements@bank.example"), false},
      {From("(statements@bank.example"), false},
      {From("statements@bank.example (ceo@bank.example"), false},
      {From("statements@bank.example;"), false},
      {From("statements@bank.example@evil.example"), false},
      {From("statements"), false},
      {From("John Doe statements@bank.example"), false},
      {From("statements.@bank.example"), false},
      {From(std::string("statements@bank.example\0ceo@bank.example", 40)), false},
      {From(std::string("\"statements\0\"@bank.example", 26)), false},
      {From("\"state\x01ments\"@bank.example"), false},
      {From("\"state\x7fments\"@bank.example"), false},
      {From("B\xc3\xa4nk <statements@bank.example>"), false},
      {From("st\xc3\xa4tements@bank.example"), false},
      {From("statements@b\xc3\xa4nk.example"), false},
      // Sender: absent or bound as well.
      {From("statements@bank.example") + "Sender: ceo@bank.example\r\n", false},
      {From("ceo@bank.example") + "Sender: statements@bank.example\r\n", false},
      {From("statements@bank.example") + "Sender: alerts@bank.example, ceo@bank.example\r\n",
       false},
      {From("statements@bank.example") + "Sender: alerts@bank.example\r\n" +
           "Sender: alerts@bank.example\r\n",
       false},
      {From("statements@bank.example") + "Sender: <alerts@bank.example\r\n", false},
  };
  return *rows;
}

// Python's reading of every row, in order.
struct PythonReading {
  int from_fields = 0;
  std::optional<std::vector<std::pair<std::string, std::string>>> from;
  int sender_fields = 0;
  std::optional<std::vector<std::pair<std::string, std::string>>> sender;
};

// The few JSON shapes python_mailbox.py writes, read without a JSON library:
// strings are Python's json.dumps output with \uXXXX escapes kept as they are
// (they only ever appear in rows that no binding matches).
class JsonReader {
 public:
  explicit JsonReader(absl::string_view text) : text_(text) {}
  bool Eat(char c) {
    while (pos_ < text_.size() && text_[pos_] == ' ') ++pos_;
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  std::string String() {
    std::string value;
    Eat('"');
    while (pos_ < text_.size() && text_[pos_] != '"') {
      if (text_[pos_] == '\\') value.push_back(text_[pos_++]);
      value.push_back(text_[pos_++]);
    }
    ++pos_;
    return value;
  }
  int Int() {
    while (pos_ < text_.size() && text_[pos_] == ' ') ++pos_;
    int value = 0;
    while (pos_ < text_.size() && absl::ascii_isdigit(text_[pos_])) {
      value = value * 10 + (text_[pos_++] - '0');
    }
    return value;
  }
  std::optional<std::vector<std::pair<std::string, std::string>>> Addresses() {
    if (Eat('n')) {
      pos_ += 3;  // "ull"
      return std::nullopt;
    }
    std::vector<std::pair<std::string, std::string>> addresses;
    Eat('[');
    while (!Eat(']')) {
      Eat(',');
      Eat('[');
      std::string local = String();
      Eat(',');
      std::string domain = String();
      Eat(']');
      addresses.emplace_back(std::move(local), std::move(domain));
    }
    return addresses;
  }
  bool AtEnd() const { return pos_ >= text_.size(); }

 private:
  absl::string_view text_;
  std::size_t pos_ = 0;
};

std::vector<PythonReading> ReadWithPython(const std::vector<Row>& rows) {
  std::string input = "[";
  for (const Row& row : rows) {
    absl::StrAppend(&input, input.size() > 1 ? "," : "", "\"", absl::BytesToHexString(row.header),
                    "\"");
  }
  input += "]";
  absl::StatusOr<fixtures::CommandResult> python =
      fixtures::RunCommandOk({"/usr/bin/python3", SIGNET_PYTHON_MAILBOX}, input);
  EXPECT_THAT(python, IsOk());
  if (!python.ok()) return {};
  std::vector<PythonReading> readings;
  JsonReader json(python->out);
  json.Eat('[');
  while (!json.Eat(']') && !json.AtEnd()) {
    json.Eat(',');
    json.Eat('{');
    PythonReading reading;
    while (!json.Eat('}')) {
      json.Eat(',');
      const std::string key = json.String();
      json.Eat(':');
      if (key == "from_fields") reading.from_fields = json.Int();
      if (key == "sender_fields") reading.sender_fields = json.Int();
      if (key == "from") reading.from = json.Addresses();
      if (key == "sender") reading.sender = json.Addresses();
    }
    readings.push_back(std::move(reading));
  }
  return readings;
}

// One author, read without guessing, and bound; the same for Sender.
bool PythonBinds(const PythonReading& reading) {
  auto one_bound = [](const auto& addresses) {
    return addresses.has_value() && addresses->size() == 1 &&
           IsBound((*addresses)[0].first, (*addresses)[0].second);
  };
  if (reading.from_fields != 1 || !one_bound(reading.from)) return false;
  return reading.sender_fields == 0 || (reading.sender_fields == 1 && one_bound(reading.sender));
}

std::string Printable(absl::string_view header) { return absl::CHexEscape(header); }

TEST(SenderBindingInteropTest, SignetDecidesAsTheTableAndPythonsReadingSay) {
  config::v1::Config config;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(kConfig, &config));
  const Authorizer authorizer(config);
  const std::vector<Row>& rows = Table();
  ASSERT_GE(rows.size(), 60u);
  const std::vector<PythonReading> python = ReadWithPython(rows);
  ASSERT_EQ(python.size(), rows.size());

  int compared = 0;
  int signed_rows = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::string mail = absl::StrCat(rows[i].header, "Subject: x\r\n\r\nbody\r\n");
    const absl::Status decision = authorizer.CheckSender("bank-signing", mail);
    const bool signs = decision.ok();
    signed_rows += signs;
    EXPECT_EQ(signs, rows[i].signs) << Printable(rows[i].header) << ": " << decision;
    if (!signs) {
      // Refused as not allowed, or (a mail whose header is not even MIME) as
      // bad input; never as a fault of the appliance.
      EXPECT_THAT(decision.code(), ::testing::AnyOf(absl::StatusCode::kPermissionDenied,
                                                    absl::StatusCode::kInvalidArgument))
          << Printable(rows[i].header) << ": " << decision;
    }
    const PythonReading& reading = python[i];
    if (reading.from_fields == 1 && reading.from.has_value() && reading.from->size() == 1) {
      ++compared;
      EXPECT_EQ(signs, PythonBinds(reading))
          << Printable(rows[i].header) << ": Signet says " << decision << "; Python reads <"
          << (*reading.from)[0].first << "@" << (*reading.from)[0].second << ">";
    }
  }
  // The comparison is not vacuous: Python read most rows as one author.
  EXPECT_GE(compared, 40) << "rows Python read as exactly one author";
  EXPECT_GE(signed_rows, 25);
}

}  // namespace
}  // namespace signet::server
