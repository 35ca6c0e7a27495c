#include "appliance/server/config/config_validator.h"

#include <google/protobuf/text_format.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "appliance/server/config/config_loader.h"
#include "appliance/server/config/token_profiles.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"

namespace signet::server {
namespace {

using ::signet::matchers::IsOk;

using config::v1::Config;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

// Valid; every test below breaks one thing.
constexpr char kValid[] = R"pb(
  listeners {
    tcp {
      address: "0.0.0.0:8443"
      certificate_file: "/etc/signet/server.pem"
      private_key_file: "/etc/signet/server.key"
      client_ca_file: "/etc/signet/clients.pem"
    }
  }
  listeners { unix { path: "/run/signet/signetd.sock" mode: 0660 } }
  tokens {
    name: "hsm-a"
    module: "/usr/lib/vendor/libhsm.so"
    label: "bank-a"
    pin { file: "/etc/signet/hsm-a.pin" }
    max_in_flight: 32
  }
  tokens {
    name: "hsm-b"
    module: "/usr/lib/vendor/libhsm.so"
    serial: "1234"
    pin { env: "SIGNET_HSM_B_PIN" }
  }
  keys {
    name: "bank-signing"
    token: "hsm-a"
    label: "bank-signing-2025"
    purpose: SIGN
    sender_addresses: "statements@bank.example"
  }
  keys { name: "bank-decryption" token: "hsm-a" id_hex: "0A1b" purpose: DECRYPT }
  keys { name: "audit" token: "hsm-b" label: "audit" purpose: SIGN }
  callers {
    name: "mx-out"
    certificate_subject: "CN=mx-out,O=Bank"
    grants { keys: "bank-signing" operations: SIGN_MAIL }
    grants { operations: ENCRYPT_MAIL }
  }
  callers {
    name: "mx-in"
    certificate_san: "mx-in.bank.example"
    grants { keys: "bank-decryption" operations: DECRYPT_MAIL operations: VERIFY_MAIL }
  }
  callers {
    name: "admin"
    unix_uid: 0
    grants { keys: "*" operations: READ_KEYS operations: ADMINISTER_KEYS }
  }
  limits { requests_per_second: 100 burst: 20 }
  audit { path: "/var/lib/signet/audit.log" checkpoint_key: "audit" }
  trust_anchors_file: "/etc/signet/anchors.pem"
)pb";

Config Valid() {
  Config config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(kValid, &config));
  return config;
}

std::vector<std::string> Problems(const Config& config) {
  absl::Status status = ValidateConfig(config);
  if (status.ok()) return {};
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  return absl::StrSplit(status.message(), '\n');
}

// The one problem of `config`.
void ExpectProblem(const Config& config, const std::string& problem) {
  EXPECT_THAT(Problems(config), ElementsAre(problem));
}

// Adds tokens[2] "card", a smartcard with `profile` and no module, and
// returns it.
config::v1::Token* AddCard(Config& config, config::v1::TokenProfile profile) {
  config::v1::Token* card = config.add_tokens();
  card->set_name("card");
  card->set_profile(profile);
  card->set_serial("0123456789");
  card->mutable_pin()->set_file("/etc/signet/card.pin");
  return card;
}

// Adds keys[3] "card-key", a decryption key in `piv_slot` of `token`.
config::v1::Key* AddPivKey(Config& config, const std::string& token, const std::string& piv_slot) {
  config::v1::Key* key = config.add_keys();
  key->set_name("card-key");
  key->set_token(token);
  key->set_piv_slot(piv_slot);
  key->set_purpose(config::v1::DECRYPT);
  return key;
}

TEST(ValidateConfigTest, ValidConfigPasses) { EXPECT_THAT(Problems(Valid()), IsEmpty()); }

TEST(ValidateConfigTest, ReportsEveryProblem) {
  Config config = Valid();
  config.mutable_keys(0)->set_token("hsm-c");
  config.mutable_tokens(1)->clear_module();
  config.mutable_callers(1)->mutable_grants(0)->set_keys(0, "nope");
  config.mutable_audit()->set_path("audit.log");
  EXPECT_THAT(Problems(config),
              ElementsAre("tokens[1] \"hsm-b\": module is required, or a profile that names "
                          "one (OPENSC_PIV, OPENSC_PKCS15 or YKCS11)",
                          "keys[0] \"bank-signing\": token \"hsm-c\" is not defined",
                          "callers[1] \"mx-in\": grants[0]: key \"nope\" is not defined",
                          "audit: path \"audit.log\" is not an absolute path"));
}

TEST(ValidateConfigTest, CapsTheNumberOfProblems) {
  Config config = Valid();
  for (int i = 0; i < 60; ++i) config.add_keys()->set_name(absl::StrCat("k", i));
  std::vector<std::string> problems = Problems(config);
  ASSERT_THAT(problems, SizeIs(51));
  EXPECT_THAT(problems.back(), HasSubstr("more problems"));
}

// --- listeners -----------------------------------------------------------------

TEST(ValidateConfigTest, NeedsAListener) {
  Config config = Valid();
  config.clear_listeners();
  ExpectProblem(config, "listeners: at least one listener (tcp or unix) is required");
}

TEST(ValidateConfigTest, ListenerNeedsAKind) {
  Config config = Valid();
  config.add_listeners();
  ExpectProblem(config, "listeners[2]: tcp or unix is required");
}

TEST(ValidateConfigTest, TcpAddress) {
  for (const char* bad : {"8443", "host:", ":8443", "host:0", "host:65536", "host:84a3", "::1:8443",
                          "[::1]8443", "[::1]", "my host:8443"}) {
    Config config = Valid();
    config.mutable_listeners(0)->mutable_tcp()->set_address(bad);
    EXPECT_THAT(Problems(config), ElementsAre(HasSubstr("listeners[0]: tcp.address \""))) << bad;
  }
  for (const char* good : {"localhost:1", "[::1]:8443", "[::]:65535", "10.0.0.1:443"}) {
    Config config = Valid();
    config.mutable_listeners(0)->mutable_tcp()->set_address(good);
    EXPECT_THAT(Problems(config), IsEmpty()) << good;
  }
  Config config = Valid();
  config.mutable_listeners(0)->mutable_tcp()->clear_address();
  ExpectProblem(config, "listeners[0]: tcp.address is required");
}

TEST(ValidateConfigTest, TcpNeedsCertificateAndKey) {
  Config config = Valid();
  config.mutable_listeners(0)->mutable_tcp()->clear_certificate_file();
  ExpectProblem(config, "listeners[0]: tcp.certificate_file is required");
  config = Valid();
  config.mutable_listeners(0)->mutable_tcp()->clear_private_key_file();
  ExpectProblem(config, "listeners[0]: tcp.private_key_file is required");
}

TEST(ValidateConfigTest, TcpNeedsClientCa) {
  Config config = Valid();
  config.mutable_listeners(0)->mutable_tcp()->clear_client_ca_file();
  ExpectProblem(config,
                "listeners[0]: tcp.client_ca_file is required: TCP callers must present a "
                "client certificate (mTLS is mandatory)");
}

TEST(ValidateConfigTest, TcpPathsAreAbsolute) {
  Config config = Valid();
  config.mutable_listeners(0)->mutable_tcp()->set_client_ca_file("clients.pem");
  config.mutable_listeners(0)->mutable_tcp()->set_private_key_file("./server.key");
  EXPECT_THAT(Problems(config),
              ElementsAre("listeners[0]: tcp.private_key_file \"./server.key\" is not an "
                          "absolute path",
                          "listeners[0]: tcp.client_ca_file \"clients.pem\" is not an absolute "
                          "path"));
}

TEST(ValidateConfigTest, KeyTimestampsAreCheckedFieldByField) {
  Config config = Valid();
  config::v1::SignatureTimestamps* stamps = config.mutable_keys(0)->mutable_timestamps();
  stamps->add_tsa_urls("http://tsa.bank.example/");
  stamps->set_tsa_trust_anchors_file("/etc/signet/tsa-roots.pem");
  stamps->set_policy("1.3.6.1.4.1.99999.3161.1");
  EXPECT_THAT(Problems(config), IsEmpty());

  stamps->add_tsa_urls("https://tsa.example/");
  stamps->set_policy("tsa-policy");
  stamps->set_timeout_seconds(90);
  stamps->clear_tsa_trust_anchors_file();
  EXPECT_THAT(
      Problems(config),
      ElementsAre("keys[0] \"bank-signing\": timestamps: tsa_urls[1] \"https://tsa.example/\" is "
                  "not an http: URL (a TSA's reply is signed; only http: is asked)",
                  "keys[0] \"bank-signing\": timestamps: policy \"tsa-policy\" is not a dotted OID",
                  "keys[0] \"bank-signing\": timestamps: timeout_seconds 90 is more than 60",
                  "keys[0] \"bank-signing\": timestamps.tsa_trust_anchors_file is required"));

  Config decrypting = Valid();
  decrypting.mutable_keys(1)->mutable_timestamps()->add_tsa_urls("http://tsa.bank.example/");
  decrypting.mutable_keys(1)->mutable_timestamps()->set_tsa_trust_anchors_file("/etc/t.pem");
  ExpectProblem(decrypting,
                "keys[1] \"bank-decryption\": timestamps: a DECRYPT key makes no "
                "signatures to stamp");
}

TEST(ValidateConfigTest, MetricsAddressIsAnIpAndPort) {
  Config config = Valid();
  config.set_metrics_address("127.0.0.1:9464");
  EXPECT_THAT(Problems(config), ElementsAre());
  config.set_metrics_address("monitoring.bank.example:9464");
  ExpectProblem(config,
                "config: metrics_address 'monitoring.bank.example:9464' is not an IP address and "
                "port (\"127.0.0.1:9464\", \"[::1]:9464\")");
}

TEST(ValidateConfigTest, PathsMustNotHoldNul) {
  Config config = Valid();
  config.set_trust_anchors_file(std::string("/etc/a\0b", 8));
  ExpectProblem(config, "config: trust_anchors_file contains a NUL character");
}

TEST(ValidateConfigTest, UnixPath) {
  Config config = Valid();
  config.mutable_listeners(1)->mutable_unix()->set_path("signetd.sock");
  ExpectProblem(config, "listeners[1]: unix.path \"signetd.sock\" is not an absolute path");
  config.mutable_listeners(1)->mutable_unix()->clear_path();
  ExpectProblem(config, "listeners[1]: unix.path is required");
  config.mutable_listeners(1)->mutable_unix()->set_path("/" + std::string(106, 'a'));
  EXPECT_THAT(Problems(config), IsEmpty());
  config.mutable_listeners(1)->mutable_unix()->set_path("/" + std::string(107, 'a'));
  ExpectProblem(config,
                "listeners[1]: unix.path is longer than the 107 bytes a socket address holds");
}

TEST(ValidateConfigTest, UnixMode) {
  Config config = Valid();
  config.mutable_listeners(1)->mutable_unix()->set_mode(04660);
  ExpectProblem(config, "listeners[1]: unix.mode 04660 has bits beyond the permissions (0777)");
}

TEST(ValidateConfigTest, DuplicateListener) {
  Config config = Valid();
  *config.add_listeners() = config.listeners(1);
  *config.add_listeners() = config.listeners(0);
  EXPECT_THAT(Problems(config), ElementsAre("listeners[2]: listens where listeners[1] does",
                                            "listeners[3]: listens where listeners[0] does"));
}

// --- tokens --------------------------------------------------------------------

TEST(ValidateConfigTest, TokenName) {
  Config config = Valid();
  config.mutable_tokens(1)->clear_name();
  config.mutable_keys(2)->set_token("hsm-a");
  ExpectProblem(config, "tokens[1]: name is required");

  config = Valid();
  config.mutable_tokens(1)->set_name("hsm b\n");
  config.mutable_keys(2)->set_token("hsm-a");
  ExpectProblem(config,
                "tokens[1] \"hsm b\\n\": name \"hsm b\\n\" must be 1 to 64 letters, digits, "
                "'.', '_' or '-'");
}

TEST(ValidateConfigTest, TokenNamesAreUnique) {
  Config config = Valid();
  config.mutable_tokens(1)->set_name("hsm-a");
  config.mutable_keys(2)->set_token("hsm-a");
  ExpectProblem(config, "tokens[1] \"hsm-a\": name is already used by tokens[0]");
}

TEST(ValidateConfigTest, TokenModule) {
  Config config = Valid();
  config.mutable_tokens(0)->clear_module();
  ExpectProblem(config,
                "tokens[0] \"hsm-a\": module is required, or a profile that names one "
                "(OPENSC_PIV, OPENSC_PKCS15 or YKCS11)");
  config.mutable_tokens(0)->set_module("libsofthsm2.so");
  ExpectProblem(config, "tokens[0] \"hsm-a\": module \"libsofthsm2.so\" is not an absolute path");
}

// --- token profiles ------------------------------------------------------------

TEST(ValidateConfigTest, AProfileNamesTheModule) {
  Config config = Valid();
  for (auto profile : {config::v1::OPENSC_PIV, config::v1::OPENSC_PKCS15, config::v1::YKCS11}) {
    config.mutable_tokens(0)->clear_module();
    config.mutable_tokens(0)->set_profile(profile);
    EXPECT_THAT(Problems(config), IsEmpty()) << TokenProfileName(profile);
    // A module given beside the profile is used instead of the default,
    // and checked as any module.
    config.mutable_tokens(0)->set_module("/opt/opensc/lib/opensc-pkcs11.so");
    EXPECT_THAT(Problems(config), IsEmpty());
    config.mutable_tokens(0)->set_module("opensc-pkcs11.so");
    ExpectProblem(config,
                  "tokens[0] \"hsm-a\": module \"opensc-pkcs11.so\" is not an absolute path");
  }
}

TEST(ValidateConfigTest, UnknownProfile) {
  Config config = Valid();
  // proto3 enums are open: a number the schema does not know parses.
  config.mutable_tokens(0)->set_profile(static_cast<config::v1::TokenProfile>(7));
  ExpectProblem(config,
                "tokens[0] \"hsm-a\": profile 7 is not OPENSC_PIV, OPENSC_PKCS15 or YKCS11");
  // Without a module only the profile is wrong: it was meant to name one.
  config.mutable_tokens(0)->clear_module();
  ExpectProblem(config,
                "tokens[0] \"hsm-a\": profile 7 is not OPENSC_PIV, OPENSC_PKCS15 or YKCS11");
}

TEST(ValidateConfigTest, PcscNeedsNoProfile) {
  Config config = Valid();
  config.mutable_tokens(0)->set_pcsc(true);
  EXPECT_THAT(Problems(config), IsEmpty());
  EXPECT_TRUE(EffectivePcsc(config.tokens(0)));
  EXPECT_FALSE(EffectivePcsc(config.tokens(1)));
}

TEST(ValidateConfigTest, ACardDoesOneOperationAtATime) {
  Config config = Valid();
  config::v1::Token* card = AddCard(config, config::v1::YKCS11);
  EXPECT_THAT(Problems(config), IsEmpty());
  EXPECT_EQ(EffectiveMaxInFlight(*card), 1);
  EXPECT_EQ(EffectiveMaxQueue(*card), 16);
  EXPECT_TRUE(EffectivePcsc(*card));
  // What the config says still goes.
  card->set_max_in_flight(2);
  EXPECT_EQ(EffectiveMaxInFlight(*card), 2);
  EXPECT_EQ(EffectiveMaxQueue(*card), 32);
}

TEST(ValidateConfigTest, SameCardTwice) {
  Config config = Valid();
  AddCard(config, config::v1::OPENSC_PIV);
  AddCard(config, config::v1::OPENSC_PIV)->set_name("card-2");
  ExpectProblem(config,
                "tokens[3] \"card-2\": selects the same token of the same module as tokens[2]");
  // PIV and PKCS#15 are both OpenSC's module.
  config.mutable_tokens(3)->set_profile(config::v1::OPENSC_PKCS15);
  ExpectProblem(config,
                "tokens[3] \"card-2\": selects the same token of the same module as tokens[2]");
  // ... and the default is where the module is looked for first.
  config.mutable_tokens(3)->set_module(
      ModulePathCandidates(*FindTokenProfile(config::v1::OPENSC_PIV)).front());
  ExpectProblem(config,
                "tokens[3] \"card-2\": selects the same token of the same module as tokens[2]");
  // ykcs11 is another module.
  config.mutable_tokens(3)->clear_module();
  config.mutable_tokens(3)->set_profile(config::v1::YKCS11);
  EXPECT_THAT(Problems(config), IsEmpty());
}

TEST(ValidateConfigTest, PivSlot) {
  for (auto profile : {config::v1::OPENSC_PIV, config::v1::YKCS11}) {
    Config config = Valid();
    AddCard(config, profile);
    config::v1::Key* key = AddPivKey(config, "card", "9d");
    EXPECT_THAT(Problems(config), IsEmpty()) << TokenProfileName(profile);
    for (const char* slot : {"9A", "9c", "9E", "82", "8a", "95"}) {
      key->set_piv_slot(slot);
      EXPECT_THAT(Problems(config), IsEmpty()) << slot;
    }
    for (const char* bad : {"", "9B", "F9", "0x9A", "01", "96"}) {
      key->set_piv_slot(bad);
      ExpectProblem(config, absl::StrCat("keys[3] \"card-key\": piv_slot \"", bad,
                                         "\" is not a PIV key slot (9A, 9C, 9D, 9E or 82 to 95)"));
    }
  }
}

TEST(ValidateConfigTest, PivSlotNeedsAPivProfile) {
  Config config = Valid();
  AddPivKey(config, "hsm-a", "9A");
  ExpectProblem(config,
                "keys[3] \"card-key\": piv_slot needs a token with a PIV profile (OPENSC_PIV or "
                "YKCS11); token \"hsm-a\" has no profile");

  config = Valid();
  AddCard(config, config::v1::OPENSC_PKCS15);
  AddPivKey(config, "card", "9A");
  ExpectProblem(config,
                "keys[3] \"card-key\": piv_slot needs a token with a PIV profile (OPENSC_PIV or "
                "YKCS11); token \"card\" is OPENSC_PKCS15");

  // A bad slot on the wrong token: both.
  config.mutable_keys(3)->set_piv_slot("9B");
  EXPECT_THAT(Problems(config),
              ElementsAre(HasSubstr("piv_slot \"9B\" is not a PIV key slot"),
                          HasSubstr("piv_slot needs a token with a PIV profile")));

  // A profile the schema does not know is the token's problem only.
  config.mutable_keys(3)->set_piv_slot("9A");
  config.mutable_tokens(2)->set_profile(static_cast<config::v1::TokenProfile>(7));
  ExpectProblem(config, "tokens[2] \"card\": profile 7 is not OPENSC_PIV, OPENSC_PKCS15 or YKCS11");
}

// A slot and an id can name the same key; which id a slot has depends on
// the module.
TEST(ValidateConfigTest, PivSlotAndIdOfOneKey) {
  Config config = Valid();
  AddCard(config, config::v1::OPENSC_PIV);
  AddPivKey(config, "card", "9c");
  config::v1::Key* by_id = config.add_keys();
  by_id->set_name("card-key-2");
  by_id->set_token("card");
  by_id->set_id_hex("02");
  by_id->set_purpose(config::v1::SIGN);
  ExpectProblem(config,
                "keys[4] \"card-key-2\": names the same token object as keys[3] \"card-key\"");

  config.mutable_keys(3)->set_piv_slot("87");
  by_id->set_id_hex("10");
  ExpectProblem(config,
                "keys[4] \"card-key-2\": names the same token object as keys[3] \"card-key\"");
  by_id->set_id_hex("0A");
  EXPECT_THAT(Problems(config), IsEmpty());

  config.mutable_tokens(2)->set_profile(config::v1::YKCS11);
  ExpectProblem(config,
                "keys[4] \"card-key-2\": names the same token object as keys[3] \"card-key\"");
  by_id->set_id_hex("10");
  EXPECT_THAT(Problems(config), IsEmpty());

  // Two keys in one slot, written differently.
  by_id->set_piv_slot("9D");
  config.mutable_keys(3)->set_piv_slot("9d");
  ExpectProblem(config,
                "keys[4] \"card-key-2\": names the same token object as keys[3] \"card-key\"");
}

TEST(ValidateConfigTest, TokenSelector) {
  Config config = Valid();
  config.mutable_tokens(0)->clear_selector();
  ExpectProblem(config, "tokens[0] \"hsm-a\": a selector is required: label, serial or uri");
  config.mutable_tokens(0)->set_label("");
  ExpectProblem(config, "tokens[0] \"hsm-a\": label is empty");
  config.mutable_tokens(0)->set_serial("");
  ExpectProblem(config, "tokens[0] \"hsm-a\": serial is empty");
}

TEST(ValidateConfigTest, TokenUri) {
  Config config = Valid();
  config.mutable_tokens(0)->set_uri("pkcs11:token=Bank%20A;serial=42");
  EXPECT_THAT(Problems(config), IsEmpty());

  config.mutable_tokens(0)->set_uri("pkcs11:object=key");
  EXPECT_THAT(Problems(config),
              ElementsAre("tokens[0] \"hsm-a\": uri: the attribute object is not allowed here "
                          "(keys name their objects)",
                          "tokens[0] \"hsm-a\": uri names no token: give token=, serial=, "
                          "manufacturer=, model= or slot-id="));

  config.mutable_tokens(0)->set_uri(
      "pkcs11:token=a?module-path=/usr/lib/x.so&pin-source=file:/etc/pin");
  EXPECT_THAT(Problems(config),
              ElementsAre(HasSubstr("the attribute module-path is not allowed here (use module)"),
                          HasSubstr("the attribute pin-source is not allowed here (use pin)")));

  config.mutable_tokens(0)->set_uri("https://hsm.example");
  EXPECT_THAT(Problems(config), ElementsAre(HasSubstr("tokens[0] \"hsm-a\": uri: ")));
}

TEST(ValidateConfigTest, TokenUriWithAPinIsRefusedWithoutRepeatingIt) {
  Config config = Valid();
  config.mutable_tokens(0)->set_uri("pkcs11:token=a?pin-value=918273");
  std::vector<std::string> problems = Problems(config);
  EXPECT_THAT(problems, ElementsAre(HasSubstr("tokens[0] \"hsm-a\": uri: ")));
  EXPECT_THAT(problems, Not(Contains(HasSubstr("918273"))));
}

TEST(ValidateConfigTest, TokenNeedsAPinSource) {
  Config config = Valid();
  config.mutable_tokens(0)->clear_pin();
  ExpectProblem(config, "tokens[0] \"hsm-a\": pin is required (file, env or systemd_credential)");
  config.mutable_tokens(0)->mutable_pin();
  ExpectProblem(config, "tokens[0] \"hsm-a\": pin needs one of file, env or systemd_credential");
}

// An operator may type the PIN itself where its source belongs; it must not
// be repeated into a log.
TEST(ValidateConfigTest, PinSourceProblemsDoNotRepeatTheValue) {
  Config config = Valid();
  config.mutable_tokens(0)->mutable_pin()->set_file("564738");
  ExpectProblem(config,
                "tokens[0] \"hsm-a\": pin.file must be an absolute path (its value is not "
                "repeated here)");
  config.mutable_tokens(0)->mutable_pin()->set_env("5647-38");
  ExpectProblem(config,
                "tokens[0] \"hsm-a\": pin.env must be an environment variable name: letters, "
                "digits and '_', not starting with a digit (its value is not repeated here)");
  config.mutable_tokens(0)->mutable_pin()->set_env("");
  EXPECT_THAT(Problems(config), ElementsAre(HasSubstr("pin.env must be")));
  config.mutable_tokens(0)->mutable_pin()->set_env("_PIN_2");
  EXPECT_THAT(Problems(config), IsEmpty());
  for (const char* bad : {"", "..", "creds/pin"}) {
    config.mutable_tokens(0)->mutable_pin()->set_systemd_credential(bad);
    ExpectProblem(config,
                  "tokens[0] \"hsm-a\": pin.systemd_credential must be a credential name, not a "
                  "path (its value is not repeated here)");
  }
  config.mutable_tokens(0)->mutable_pin()->set_systemd_credential("hsm-a.pin");
  EXPECT_THAT(Problems(config), IsEmpty());
}

TEST(ValidateConfigTest, MaxInFlight) {
  Config config = Valid();
  config.mutable_tokens(0)->set_max_in_flight(kMaxInFlightLimit);
  EXPECT_THAT(Problems(config), IsEmpty());
  EXPECT_EQ(EffectiveMaxInFlight(config.tokens(0)), 256);
  config.mutable_tokens(0)->set_max_in_flight(kMaxInFlightLimit + 1);
  ExpectProblem(config, "tokens[0] \"hsm-a\": max_in_flight 257 is more than 256");
  config.mutable_tokens(0)->set_max_in_flight(0);
  EXPECT_THAT(Problems(config), IsEmpty());
  EXPECT_EQ(DefaultMaxInFlight(), 4);
  EXPECT_EQ(EffectiveMaxInFlight(config.tokens(0)), DefaultMaxInFlight());
}

TEST(ValidateConfigTest, MaxQueue) {
  Config config = Valid();
  EXPECT_EQ(EffectiveMaxQueue(config.tokens(0)), 16 * 32);
  EXPECT_EQ(EffectiveMaxQueue(config.tokens(1)), 16 * 4);
  config.mutable_tokens(0)->set_max_queue(kMaxQueueLimit);
  EXPECT_THAT(Problems(config), IsEmpty());
  EXPECT_EQ(EffectiveMaxQueue(config.tokens(0)), kMaxQueueLimit);
  config.mutable_tokens(0)->set_max_queue(kMaxQueueLimit + 1);
  ExpectProblem(config, "tokens[0] \"hsm-a\": max_queue 65537 is more than 65536");
}

TEST(ValidateConfigTest, SameTokenTwice) {
  Config config = Valid();
  config.mutable_tokens(1)->set_label("bank-a");
  ExpectProblem(config,
                "tokens[1] \"hsm-b\": selects the same token of the same module as tokens[0]");
  // The same label in another module is another token.
  config.mutable_tokens(1)->set_module("/usr/lib/other/libhsm.so");
  EXPECT_THAT(Problems(config), IsEmpty());
}

// --- keys ----------------------------------------------------------------------

TEST(ValidateConfigTest, KeyName) {
  Config config = Valid();
  config.mutable_keys(1)->clear_name();
  config.mutable_callers(1)->mutable_grants(0)->set_keys(0, "*");
  ExpectProblem(config, "keys[1]: name is required");
  // "*" means every key in a grant.
  config.mutable_keys(1)->set_name("*");
  ExpectProblem(config,
                "keys[1] \"*\": name \"*\" must be 1 to 64 letters, digits, '.', '_' or '-'");
  config.mutable_keys(1)->set_name(std::string(65, 'k'));
  EXPECT_THAT(Problems(config), ElementsAre(HasSubstr("must be 1 to 64")));
}

TEST(ValidateConfigTest, KeyNamesAreUnique) {
  Config config = Valid();
  config.mutable_keys(2)->set_name("bank-signing");
  config.mutable_audit()->set_checkpoint_key("bank-signing");
  config.mutable_callers(0)->mutable_grants(0)->clear_operations();
  config.mutable_callers(0)->mutable_grants(0)->add_operations(config::v1::READ_KEYS);
  ExpectProblem(config, "keys[2] \"bank-signing\": name is already used by keys[0]");
}

TEST(ValidateConfigTest, KeyToken) {
  Config config = Valid();
  config.mutable_keys(2)->set_name("bank-signing-2");
  config.mutable_audit()->set_checkpoint_key("bank-signing-2");
  config.mutable_keys(2)->set_token("hsm-c");
  ExpectProblem(config, "keys[2] \"bank-signing-2\": token \"hsm-c\" is not defined");
  config.mutable_keys(2)->clear_token();
  ExpectProblem(config, "keys[2] \"bank-signing-2\": token is required");
}

TEST(ValidateConfigTest, KeyObject) {
  Config config = Valid();
  config.mutable_keys(1)->clear_object();
  ExpectProblem(config, "keys[1] \"bank-decryption\": label, id_hex or piv_slot is required");
  config.mutable_keys(1)->set_label("");
  ExpectProblem(config, "keys[1] \"bank-decryption\": label is empty");
  for (const char* bad : {"", "abc", "0g", "0x01", "01 02"}) {
    config.mutable_keys(1)->set_id_hex(bad);
    ExpectProblem(config, absl::StrCat("keys[1] \"bank-decryption\": id_hex \"", bad,
                                       "\" is not an even number of hex digits"));
  }
}

TEST(ValidateConfigTest, TwoKeysForOneTokenObject) {
  Config config = Valid();
  config.mutable_keys(2)->set_token("hsm-a");
  config.mutable_keys(2)->set_id_hex("0a1B");
  ExpectProblem(config,
                "keys[2] \"audit\": names the same token object as keys[1] \"bank-decryption\"");
  // The same id on another token is another key.
  config.mutable_keys(2)->set_token("hsm-b");
  EXPECT_THAT(Problems(config), IsEmpty());
}

TEST(ValidateConfigTest, KeyPurpose) {
  Config config = Valid();
  config.mutable_keys(1)->clear_purpose();
  ExpectProblem(config, "keys[1] \"bank-decryption\": purpose is required (SIGN or DECRYPT)");
  // proto3 enums are open: a number the schema does not know parses.
  config.mutable_keys(1)->set_purpose(static_cast<config::v1::KeyPurpose>(7));
  ExpectProblem(config, "keys[1] \"bank-decryption\": purpose 7 is not SIGN or DECRYPT");
}

TEST(ValidateConfigTest, KeyCertificateChainPath) {
  Config config = Valid();
  config.mutable_keys(0)->set_certificate_chain_file("certs/s.pem");
  ExpectProblem(config,
                "keys[0] \"bank-signing\": certificate_chain_file \"certs/s.pem\" is not an "
                "absolute path");
}

TEST(ValidateConfigTest, SenderAddressesOnlyOnSigningKeys) {
  Config config = Valid();
  config.mutable_keys(1)->add_sender_addresses("in@bank.example");
  ExpectProblem(config, "keys[1] \"bank-decryption\": sender_addresses are only for SIGN keys");
}

TEST(ValidateConfigTest, SenderAddressesLookLikeAddresses) {
  for (const char* bad :
       {"bank.example", "@bank.example", "a@", "a@b@c", "A <a@b.example>", "a b@bank.example",
        "a@bank..example", "a@-bank.example", ".a@bank.example", "a@bank_x.example"}) {
    Config config = Valid();
    config.mutable_keys(0)->add_sender_addresses(bad);
    EXPECT_THAT(Problems(config), ElementsAre(HasSubstr("is not an address like"))) << bad;
  }
  Config config = Valid();
  config.mutable_keys(0)->add_sender_addresses("first.last+tag@mail.bank-x.example");
  config.mutable_keys(0)->add_sender_addresses("a@localhost");
  EXPECT_THAT(Problems(config), IsEmpty());
  // The local part is compared as written: another case is another mailbox.
  config.mutable_keys(0)->add_sender_addresses("Statements@bank.example");
  EXPECT_THAT(Problems(config), IsEmpty());
  config.mutable_keys(0)->add_sender_addresses("statements@Bank.Example");
  ExpectProblem(config,
                "keys[0] \"bank-signing\": sender address \"statements@Bank.Example\" is listed "
                "twice");
}

// --- callers -------------------------------------------------------------------

TEST(ValidateConfigTest, CallerNames) {
  Config config = Valid();
  config.mutable_callers(2)->clear_name();
  ExpectProblem(config, "callers[2]: name is required");
  config.mutable_callers(2)->set_name("mx-in");
  ExpectProblem(config, "callers[2] \"mx-in\": name is already used by callers[1]");
}

TEST(ValidateConfigTest, CallerIdentity) {
  Config config = Valid();
  config.mutable_callers(2)->clear_identity();
  ExpectProblem(config,
                "callers[2] \"admin\": an identity is required: certificate_subject, "
                "certificate_san or unix_uid");
  config.mutable_callers(2)->set_certificate_subject("mx-out");
  ExpectProblem(config,
                "callers[2] \"admin\": certificate_subject \"mx-out\" is not an RFC 4514 name "
                "like \"CN=mx1,O=Bank\"");
  config.mutable_callers(2)->set_certificate_san("");
  ExpectProblem(config, "callers[2] \"admin\": certificate_san is empty");
}

TEST(ValidateConfigTest, CallerIdentitiesAreUnique) {
  Config config = Valid();
  config.mutable_callers(2)->set_certificate_subject("CN=mx-out,O=Bank");
  ExpectProblem(config, "callers[2] \"admin\": has the same identity as callers[0] \"mx-out\"");
  config.mutable_callers(2)->set_certificate_san("MX-IN.bank.example");
  ExpectProblem(config, "callers[2] \"admin\": has the same identity as callers[1] \"mx-in\"");
  config.mutable_callers(1)->set_unix_uid(0);
  config.mutable_callers(2)->set_unix_uid(0);
  ExpectProblem(config, "callers[2] \"admin\": has the same identity as callers[1] \"mx-in\"");
}

TEST(ValidateConfigTest, GrantNeedsOperations) {
  Config config = Valid();
  config.mutable_callers(0)->mutable_grants(0)->clear_operations();
  ExpectProblem(config, "callers[0] \"mx-out\": grants[0]: operations are required");
}

TEST(ValidateConfigTest, GrantOperationsAreDefined) {
  Config config = Valid();
  config.mutable_callers(0)->mutable_grants(1)->add_operations(config::v1::OPERATION_UNSPECIFIED);
  ExpectProblem(config,
                "callers[0] \"mx-out\": grants[1]: OPERATION_UNSPECIFIED is not an operation");
  config = Valid();
  config.mutable_callers(0)->mutable_grants(1)->add_operations(
      static_cast<config::v1::Operation>(99));
  ExpectProblem(config, "callers[0] \"mx-out\": grants[1]: operation 99 is not defined");
  config = Valid();
  config.mutable_callers(0)->mutable_grants(1)->add_operations(config::v1::ENCRYPT_MAIL);
  ExpectProblem(config, "callers[0] \"mx-out\": grants[1]: ENCRYPT_MAIL is listed twice");
}

TEST(ValidateConfigTest, GrantKeysAreDefined) {
  Config config = Valid();
  config.mutable_callers(0)->mutable_grants(0)->add_keys("bank-signing-old");
  ExpectProblem(config,
                "callers[0] \"mx-out\": grants[0]: key \"bank-signing-old\" is not defined");
  config = Valid();
  config.mutable_callers(0)->mutable_grants(0)->add_keys("bank-signing");
  ExpectProblem(config, "callers[0] \"mx-out\": grants[0]: key \"bank-signing\" is listed twice");
  config = Valid();
  config.mutable_callers(2)->mutable_grants(0)->add_keys("bank-signing");
  ExpectProblem(config,
                "callers[2] \"admin\": grants[0]: \"*\" already means every key; list it alone");
}

TEST(ValidateConfigTest, KeyOperationsNeedKeys) {
  Config config = Valid();
  config.mutable_callers(1)->mutable_grants(0)->clear_keys();
  ExpectProblem(config,
                "callers[1] \"mx-in\": grants[0]: DECRYPT_MAIL needs keys: name them, or \"*\" "
                "for every key");
  // Operations that use no key of the appliance need none.
  config.mutable_callers(1)->mutable_grants(0)->clear_operations();
  config.mutable_callers(1)->mutable_grants(0)->add_operations(config::v1::VERIFY_MAIL);
  EXPECT_THAT(Problems(config), IsEmpty());
}

TEST(ValidateConfigTest, SenderMatchNeedsAVerifyGrant) {
  Config config = Valid();
  config.mutable_callers(1)->set_verify_require_sender_match(true);
  EXPECT_THAT(Problems(config), IsEmpty());
  config.mutable_callers(0)->set_verify_require_sender_match(true);
  ExpectProblem(config,
                "callers[0] \"mx-out\": verify_require_sender_match without a VERIFY_MAIL grant "
                "does nothing");
}

TEST(ValidateConfigTest, SkippingRecipientValidationNeedsAnEncryptGrant) {
  Config config = Valid();
  config.mutable_callers(0)->set_encrypt_skip_recipient_validation(true);
  EXPECT_THAT(Problems(config), IsEmpty());
  config.mutable_callers(1)->set_encrypt_skip_recipient_validation(true);
  ExpectProblem(config,
                "callers[1] \"mx-in\": encrypt_skip_recipient_validation without an ENCRYPT_MAIL "
                "grant does nothing");
}

TEST(ValidateConfigTest, EncryptionNeedsRecipientAnchors) {
  Config config = Valid();
  config.clear_trust_anchors_file();
  ExpectProblem(config,
                "callers[0] \"mx-out\": an ENCRYPT_MAIL grant needs recipient trust anchors "
                "(validation.recipient_trust_anchors_file or trust_anchors_file): recipient "
                "certificates are validated before encryption, and without anchors every one is "
                "refused");
  // Anchors of their own for recipients will do, and so does a caller that
  // is allowed to skip the validation.
  config.mutable_validation()->set_recipient_trust_anchors_file("/etc/signet/recipients.pem");
  EXPECT_THAT(Problems(config), IsEmpty());
  config.mutable_validation()->clear_recipient_trust_anchors_file();
  config.mutable_callers(0)->set_encrypt_skip_recipient_validation(true);
  EXPECT_THAT(Problems(config), IsEmpty());
}

TEST(ValidateConfigTest, RecipientAnchorsAreAnAbsolutePath) {
  Config config = Valid();
  config.mutable_validation()->set_recipient_trust_anchors_file("recipients.pem");
  ExpectProblem(
      config,
      "validation: recipient_trust_anchors_file \"recipients.pem\" is not an absolute path");
}

TEST(ValidateConfigTest, SigningOperationsOnlyOnSigningKeys) {
  Config config = Valid();
  config.mutable_callers(0)->mutable_grants(0)->set_keys(0, "bank-decryption");
  config.mutable_callers(0)->mutable_grants(0)->add_operations(config::v1::SIGN_DIGEST);
  EXPECT_THAT(Problems(config), ElementsAre("callers[0] \"mx-out\": grants[0]: SIGN_MAIL on key "
                                            "\"bank-decryption\", which is a DECRYPT key",
                                            "callers[0] \"mx-out\": grants[0]: SIGN_DIGEST on key "
                                            "\"bank-decryption\", which is a DECRYPT key"));
}

TEST(ValidateConfigTest, NoDigestSigningWithASenderBoundKey) {
  Config config = Valid();
  config.mutable_callers(0)->mutable_grants(0)->add_operations(config::v1::SIGN_DIGEST);
  ExpectProblem(config,
                "callers[0] \"mx-out\": grants[0]: SIGN_DIGEST on key \"bank-signing\", which is "
                "bound to sender_addresses that a digest cannot show");
  // Unbound, the same grant is fine.
  config.mutable_keys(0)->clear_sender_addresses();
  EXPECT_THAT(Problems(config), IsEmpty());
}

TEST(ValidateConfigTest, DecryptionOnlyOnDecryptionKeys) {
  Config config = Valid();
  config.mutable_callers(1)->mutable_grants(0)->add_keys("bank-signing");
  ExpectProblem(config,
                "callers[1] \"mx-in\": grants[0]: DECRYPT_MAIL on key \"bank-signing\", which is "
                "a SIGN key");
}

TEST(ValidateConfigTest, AllKeysGrantAppliesToMatchingKeysOnly) {
  Config config = Valid();
  config.mutable_callers(1)->mutable_grants(0)->set_keys(0, "*");
  EXPECT_THAT(Problems(config), IsEmpty());
  // A "*" signing grant is fine once the checkpoint key is not a signing
  // key of the config (here: there is none, which is its own problem).
  config.mutable_audit()->clear_checkpoint_key();
  config.mutable_callers(0)->mutable_grants(0)->set_keys(0, "*");
  ExpectProblem(config,
                "audit: checkpoint_key is required when keys are configured: the audit log's "
                "checkpoints are signed with it (a SIGN key no caller may sign with)");
}

TEST(ValidateConfigTest, NoCallerMaySignWithTheCheckpointKey) {
  Config config = Valid();
  config.mutable_callers(0)->mutable_grants(0)->set_keys(0, "audit");
  config.mutable_callers(0)->mutable_grants(0)->add_operations(config::v1::SIGN_DIGEST);
  EXPECT_THAT(Problems(config),
              ElementsAre("callers[0] \"mx-out\": grants[0]: SIGN_MAIL covers the audit "
                          "checkpoint key \"audit\", which would let the caller forge audit "
                          "checkpoints",
                          "callers[0] \"mx-out\": grants[0]: SIGN_DIGEST covers the audit "
                          "checkpoint key \"audit\", which would let the caller forge audit "
                          "checkpoints"));
  config = Valid();
  config.mutable_callers(2)->mutable_grants(0)->add_operations(config::v1::SIGN_DIGEST);
  ExpectProblem(config,
                "callers[2] \"admin\": grants[0]: SIGN_DIGEST covers the audit checkpoint key "
                "\"audit\", which would let the caller forge audit checkpoints");
}

// --- limits --------------------------------------------------------------------

TEST(ValidateConfigTest, RequestsPerSecond) {
  for (double bad : {-1.0, std::nan(""), std::numeric_limits<double>::infinity(), 2e6}) {
    Config config = Valid();
    config.mutable_limits()->set_requests_per_second(bad);
    ExpectProblem(config, "limits: requests_per_second must be between 0 (unlimited) and 1e+06");
  }
}

TEST(ValidateConfigTest, Burst) {
  Config config = Valid();
  config.mutable_limits()->set_burst(0);
  ExpectProblem(config,
                "limits: burst is required with requests_per_second: the requests a caller may "
                "make at once (at least 1)");
  config.mutable_limits()->set_requests_per_second(0);
  config.mutable_limits()->set_burst(10);
  ExpectProblem(config, "limits: burst has no effect without requests_per_second");
  config.mutable_limits()->set_requests_per_second(10);
  config.mutable_limits()->set_burst(1000001);
  ExpectProblem(config, "limits: burst 1000001 is more than 1000000");
}

TEST(ValidateConfigTest, SizesAndDepths) {
  Config config = Valid();
  config.mutable_limits()->set_max_message_bytes((uint64_t{1} << 30) + 1);
  ExpectProblem(config, "limits: max_message_bytes 1073741825 is more than 1073741824 (1 GiB)");
  config = Valid();
  config.mutable_limits()->set_max_mime_depth(65);
  ExpectProblem(config, "limits: max_mime_depth 65 is more than 64");
  config = Valid();
  config.mutable_limits()->set_max_asn1_depth(65);
  ExpectProblem(config, "limits: max_asn1_depth 65 is more than 64");
}

constexpr uint64_t kMiB = uint64_t{1} << 20;

TEST(ValidateConfigTest, BufferBudgetsMustHoldTheLargestMail) {
  Config config = Valid();
  config.mutable_limits()->set_max_message_bytes(10 * kMiB);
  config.mutable_limits()->set_max_buffered_bytes(5 * kMiB);
  config.mutable_limits()->set_max_caller_buffered_bytes(4 * kMiB);
  EXPECT_THAT(Problems(config),
              ElementsAre("limits: max_buffered_bytes 5242880 is less than max_message_bytes "
                          "(10485760): a mail of the largest size could never be taken",
                          "limits: max_caller_buffered_bytes 4194304 is less than "
                          "max_message_bytes (10485760): a mail of the largest size could never "
                          "be taken"));
  config.mutable_limits()->set_max_buffered_bytes(20 * kMiB);
  config.mutable_limits()->set_max_caller_buffered_bytes(30 * kMiB);
  EXPECT_THAT(Problems(config), ElementsAre("limits: max_caller_buffered_bytes 31457280 is more "
                                            "than max_buffered_bytes (20971520)"));
  config.mutable_limits()->set_max_caller_buffered_bytes(15 * kMiB);
  EXPECT_THAT(Problems(config), IsEmpty());
}

TEST(ValidateConfigTest, ConnectionLimitsAreBounded) {
  Config config = Valid();
  config.mutable_limits()->set_upload_idle_timeout_seconds(3601);
  config.mutable_limits()->set_max_streams_per_connection(10001);
  config.mutable_limits()->set_grpc_memory_bytes(1000);
  config.mutable_limits()->set_shutdown_grace_seconds(3601);
  EXPECT_THAT(Problems(config),
              ElementsAre("limits: upload_idle_timeout_seconds 3601 is more than 3600",
                          "limits: max_streams_per_connection 10001 is more than 10000",
                          "limits: grpc_memory_bytes 1000 is less than 16777216 (16 MiB)",
                          "limits: shutdown_grace_seconds 3601 is more than 3600"));
}

// --- audit ---------------------------------------------------------------------

TEST(ValidateConfigTest, AuditLogRequiredForKeys) {
  Config config = Valid();
  config.clear_audit();
  EXPECT_THAT(Problems(config),
              ElementsAre("audit: path is required when keys are configured: every key "
                          "operation is recorded, and none runs without the audit log",
                          "audit: checkpoint_key is required when keys are configured: the "
                          "audit log's checkpoints are signed with it (a SIGN key no caller may "
                          "sign with)"));
  // Without keys there are no key operations to record.
  config.clear_keys();
  config.mutable_callers(0)->mutable_grants()->DeleteSubrange(0, 1);
  config.mutable_callers(1)->mutable_grants(0)->clear_keys();
  config.mutable_callers(1)->mutable_grants(0)->clear_operations();
  config.mutable_callers(1)->mutable_grants(0)->add_operations(config::v1::VERIFY_MAIL);
  EXPECT_THAT(Problems(config), IsEmpty());
}

TEST(ValidateConfigTest, AuditPathIsAbsolute) {
  Config config = Valid();
  config.mutable_audit()->set_path("var/audit.log");
  ExpectProblem(config, "audit: path \"var/audit.log\" is not an absolute path");
}

TEST(ValidateConfigTest, CheckpointKey) {
  Config config = Valid();
  config.mutable_audit()->set_checkpoint_key("audit-2");
  ExpectProblem(config, "audit: checkpoint_key \"audit-2\" is not defined");
  config.mutable_audit()->set_checkpoint_key("bank-decryption");
  ExpectProblem(config, "audit: checkpoint_key \"bank-decryption\" is not a SIGN key");
}

TEST(ValidateConfigTest, CheckpointInterval) {
  Config config = Valid();
  config.mutable_audit()->set_checkpoint_interval(1000000);
  EXPECT_THAT(Problems(config), IsEmpty());
  config.mutable_audit()->set_checkpoint_interval(1000001);
  ExpectProblem(config, "audit: checkpoint_interval 1000001 is more than 1000000");
  // Without keys there is no checkpoint key, and an interval means nothing.
  config.mutable_audit()->set_checkpoint_interval(10);
  config.mutable_audit()->clear_checkpoint_key();
  config.clear_keys();
  config.clear_callers();
  ExpectProblem(config, "audit: checkpoint_interval has no effect without checkpoint_key");
}

TEST(ValidateConfigTest, GroupCommitWindow) {
  Config config = Valid();
  config.mutable_audit()->set_group_commit_window_microseconds(10000);
  EXPECT_THAT(Problems(config), IsEmpty());
  config.mutable_audit()->set_group_commit_window_microseconds(10001);
  ExpectProblem(config, "audit: group_commit_window_microseconds 10001 is more than 10000 (10 ms)");
  // Without keys no audit log is opened: a window would be ignored.
  config.mutable_audit()->set_group_commit_window_microseconds(200);
  config.mutable_audit()->clear_checkpoint_key();
  config.clear_keys();
  config.clear_callers();
  ExpectProblem(config, "audit: group_commit_window_microseconds has no effect without keys");
}

TEST(ValidateConfigTest, KeysNeedACheckpointKey) {
  Config config = Valid();
  config.mutable_audit()->clear_checkpoint_key();
  ExpectProblem(config,
                "audit: checkpoint_key is required when keys are configured: the audit log's "
                "checkpoints are signed with it (a SIGN key no caller may sign with)");
}

TEST(ValidateConfigTest, TrustAnchorsPathIsAbsolute) {
  Config config = Valid();
  config.set_trust_anchors_file("anchors.pem");
  ExpectProblem(config, "config: trust_anchors_file \"anchors.pem\" is not an absolute path");
}

TEST(ValidateConfigTest, CrlPathsAreAbsolute) {
  Config config = Valid();
  config.mutable_validation()->add_crl_files("ca.crl");
  ExpectProblem(config, "validation: crl_files[0] \"ca.crl\" is not an absolute path");
  config = Valid();
  config.mutable_validation()->add_crl_files("");
  ExpectProblem(config, "validation: crl_files[0] is required");
  config = Valid();
  config.mutable_validation()->set_crl_directory("crl");
  ExpectProblem(config, "validation: crl_directory \"crl\" is not an absolute path");
}

TEST(ValidateConfigTest, ValidationProblemsAreReported) {
  Config config = Valid();
  config.mutable_validation()->add_acceptable_policies("not an oid");
  ExpectProblem(config,
                "validation.acceptable_policies[0]: is not a dotted OID "
                "(\"2.16.840.1.101.3.2.1.48.1\")");
}

// --- the shipped examples ------------------------------------------------------

class ExampleConfigTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ExampleConfigTest, LoadsAndValidates) {
  const std::string path = absl::StrCat(SIGNET_SOURCE_DIR, "/firmware-config/", GetParam());
  absl::StatusOr<Config> config = LoadConfig(path);
  ASSERT_THAT(config, IsOk());
  EXPECT_THAT(ValidateConfig(*config), IsOk());
  EXPECT_FALSE(config->listeners().empty());
  EXPECT_FALSE(config->tokens().empty());
  EXPECT_FALSE(config->keys().empty());
  EXPECT_FALSE(config->callers().empty());
}

INSTANTIATE_TEST_SUITE_P(FirmwareConfig, ExampleConfigTest,
                         ::testing::Values("bank-rack.textproto", "personal-usb.textproto",
                                           "dev.textproto"));

TEST(ExampleConfigsTest, BankRackIsWhatItSays) {
  absl::StatusOr<Config> config =
      LoadConfig(absl::StrCat(SIGNET_SOURCE_DIR, "/firmware-config/bank-rack.textproto"));
  ASSERT_THAT(config, IsOk());
  EXPECT_THAT(config->tokens(), SizeIs(2));
  bool tcp = false;
  bool unix_socket = false;
  for (const config::v1::Listener& listener : config->listeners()) {
    tcp |= listener.has_tcp();
    unix_socket |= listener.has_unix();
  }
  EXPECT_TRUE(tcp);
  EXPECT_TRUE(unix_socket);
  EXPECT_FALSE(config->audit().checkpoint_key().empty());
  EXPECT_GT(config->limits().requests_per_second(), 0);
}

TEST(ExampleConfigsTest, PersonalUsbUsesOpenScOneAtATimeOnAUnixSocket) {
  absl::StatusOr<Config> config =
      LoadConfig(absl::StrCat(SIGNET_SOURCE_DIR, "/firmware-config/personal-usb.textproto"));
  ASSERT_THAT(config, IsOk());
  ASSERT_THAT(config->tokens(), SizeIs(1));
  // The OpenSC PIV profile: its module, one operation at a time, the card
  // watched through pcscd, keys named by PIV slot.
  EXPECT_EQ(config->tokens(0).profile(), config::v1::OPENSC_PIV);
  EXPECT_TRUE(absl::EndsWith(EffectiveModulePath(config->tokens(0)), "/opensc-pkcs11.so"));
  EXPECT_EQ(EffectiveMaxInFlight(config->tokens(0)), 1);
  EXPECT_TRUE(EffectivePcsc(config->tokens(0)));
  for (const config::v1::Key& key : config->keys()) {
    EXPECT_EQ(key.object_case(), config::v1::Key::kPivSlot) << key.name();
  }
  for (const config::v1::Listener& listener : config->listeners()) {
    EXPECT_TRUE(listener.has_unix());
  }
  for (const config::v1::Caller& caller : config->callers()) {
    EXPECT_EQ(caller.identity_case(), config::v1::Caller::kUnixUid);
  }
}

TEST(ExampleConfigsTest, DevUsesSoftHsmWithAPinFile) {
  absl::StatusOr<Config> config =
      LoadConfig(absl::StrCat(SIGNET_SOURCE_DIR, "/firmware-config/dev.textproto"));
  ASSERT_THAT(config, IsOk());
  ASSERT_THAT(config->tokens(), SizeIs(1));
  EXPECT_EQ(config->tokens(0).module(), "/usr/lib/softhsm/libsofthsm2.so");
  EXPECT_TRUE(config->tokens(0).pin().has_file());
}

}  // namespace
// A valid timestamp_authority on keys[3] "tsa", a SIGN key.
Config WithTsa() {
  Config config = Valid();
  config::v1::Key* key = config.add_keys();
  key->set_name("tsa");
  key->set_token("hsm-b");
  key->set_label("tsa-2025");
  key->set_purpose(config::v1::SIGN);
  config::v1::TimestampAuthority* tsa = config.mutable_timestamp_authority();
  tsa->set_key("tsa");
  tsa->set_http_address("127.0.0.1:3180");
  tsa->add_policies("1.3.6.1.4.1.99999.1");
  tsa->add_digests("sha256");
  tsa->set_accuracy_millis(500);
  tsa->set_serial_file("/var/lib/signet/tsa.serial");
  return config;
}

TEST(ValidateConfigTest, TimestampAuthorityValid) {
  EXPECT_THAT(Problems(WithTsa()), IsEmpty());
  Config config = WithTsa();
  // Digests and the HTTP address are optional.
  config.mutable_timestamp_authority()->clear_digests();
  config.mutable_timestamp_authority()->clear_http_address();
  EXPECT_THAT(Problems(config), IsEmpty());
}

TEST(ValidateConfigTest, TimestampAuthorityKey) {
  Config config = WithTsa();
  config.mutable_timestamp_authority()->clear_key();
  ExpectProblem(config,
                "timestamp_authority: key is required (a SIGN key whose certificate has the "
                "critical extended key usage timeStamping)");
  config.mutable_timestamp_authority()->set_key("nope");
  ExpectProblem(config, "timestamp_authority: key \"nope\" is not defined");
  config.mutable_timestamp_authority()->set_key("bank-decryption");
  ExpectProblem(config, "timestamp_authority: key \"bank-decryption\" is not a SIGN key");
  config.mutable_timestamp_authority()->set_key("audit");
  ExpectProblem(config,
                "timestamp_authority: key \"audit\" is the audit checkpoint key, which signs "
                "nothing else");
}

TEST(ValidateConfigTest, TimestampAuthorityPolicies) {
  Config config = WithTsa();
  config.mutable_timestamp_authority()->clear_policies();
  ExpectProblem(config,
                "timestamp_authority: policies are required: at least one policy OID (the first "
                "is the default)");
  for (const char* bad : {"tsa-policy", "1", "1..2", "3.1.2", "1.02", "1.2.x", ""}) {
    config.mutable_timestamp_authority()->clear_policies();
    config.mutable_timestamp_authority()->add_policies(bad);
    ExpectProblem(config, absl::StrCat("timestamp_authority: policies[0] \"", bad,
                                       "\" is not a dotted OID (\"1.3.6.1.4.1.99999.1\")"));
  }
  config.mutable_timestamp_authority()->clear_policies();
  config.mutable_timestamp_authority()->add_policies("2.5.29.32.0");
  config.mutable_timestamp_authority()->add_policies("2.5.29.32.0");
  ExpectProblem(config, "timestamp_authority: policies[1] \"2.5.29.32.0\" is listed twice");
}

TEST(ValidateConfigTest, TimestampAuthorityDigests) {
  Config config = WithTsa();
  config.mutable_timestamp_authority()->add_digests("sha1");
  ExpectProblem(config, "timestamp_authority: digests[1] \"sha1\" is not sha256, sha384 or sha512");
  config.mutable_timestamp_authority()->set_digests(1, "SHA384");
  ExpectProblem(config,
                "timestamp_authority: digests[1] \"SHA384\" is not sha256, sha384 or sha512");
  config.mutable_timestamp_authority()->set_digests(1, "sha256");
  ExpectProblem(config, "timestamp_authority: digests[1] \"sha256\" is listed twice");
}

TEST(ValidateConfigTest, TimestampAuthorityAccuracy) {
  Config config = WithTsa();
  config.mutable_timestamp_authority()->set_accuracy_millis(999);
  EXPECT_THAT(Problems(config), IsEmpty());
  config.mutable_timestamp_authority()->set_accuracy_millis(1000);
  ExpectProblem(config,
                "timestamp_authority: accuracy_millis 1000 is not below 1000 (use "
                "accuracy_seconds)");
}

TEST(ValidateConfigTest, TimestampAuthoritySerialFile) {
  Config config = WithTsa();
  config.mutable_timestamp_authority()->clear_serial_file();
  ExpectProblem(config, "timestamp_authority: serial_file is required");
  config.mutable_timestamp_authority()->set_serial_file("tsa.serial");
  ExpectProblem(config, "timestamp_authority: serial_file \"tsa.serial\" is not an absolute path");
}

TEST(ValidateConfigTest, TimestampAuthorityHttpAddress) {
  Config config = WithTsa();
  config.mutable_timestamp_authority()->set_http_address("tsa.bank.example:3180");
  ExpectProblem(config,
                "timestamp_authority: http_address 'tsa.bank.example:3180' is not an IP address "
                "and port (\"127.0.0.1:9464\", \"[::1]:9464\")");
}

TEST(ValidateConfigTest, TimestampGrantNeedsNoKeys) {
  Config config = WithTsa();
  config.mutable_callers(0)->add_grants()->add_operations(config::v1::TIMESTAMP);
  EXPECT_THAT(Problems(config), IsEmpty());
}

}  // namespace signet::server
