#include "tokens/pkcs11_uri.h"

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/status_matchers.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;

using ::testing::HasSubstr;
using ::testing::Not;

absl::StatusOr<Pkcs11Uri> ParseOk(absl::string_view text) {
  absl::StatusOr<Pkcs11Uri> uri = ParsePkcs11Uri(text);
  EXPECT_THAT(uri, IsOk());
  return uri;
}

// Expects `text` to be refused with InvalidArgument and that the error repeats
// neither the URI nor `secret` (a value in it that must not leak), if given.
absl::Status RefusedStatus(absl::string_view text, const std::string& secret = "") {
  absl::StatusOr<Pkcs11Uri> uri = ParsePkcs11Uri(text);
  EXPECT_THAT(uri, Not(IsOk())) << "accepted";
  if (uri.ok()) return absl::OkStatus();
  EXPECT_EQ(uri.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(uri.status().message());
  const std::string full = uri.status().ToString();
  if (!secret.empty()) {
    EXPECT_THAT(message, Not(HasSubstr(secret))) << text;
    EXPECT_THAT(full, Not(HasSubstr(secret))) << text;
  }
  if (text.size() > absl::string_view("pkcs11:").size()) {
    EXPECT_THAT(full, Not(HasSubstr(std::string(text))));
  }
  return uri.status();
}

void ExpectRefused(absl::string_view text, const std::string& secret = "") {
  RefusedStatus(text, secret).IgnoreError();
}

// --- RFC 7512 section 3.3 examples -------------------------------------------

TEST(Pkcs11UriRfcExamplesTest, EmptyUri) {
  absl::StatusOr<Pkcs11Uri> uri = ParseOk("pkcs11:");
  ASSERT_THAT(uri, IsOk());
  EXPECT_EQ(*uri, Pkcs11Uri{});
}

TEST(Pkcs11UriRfcExamplesTest, PublicKeyByLabel) {
  absl::StatusOr<Pkcs11Uri> uri = ParseOk("pkcs11:object=my-pubkey;type=public");
  ASSERT_THAT(uri, IsOk());
  Pkcs11Uri expected;
  expected.object = "my-pubkey";
  expected.type = "public";
  EXPECT_EQ(*uri, expected);
}

TEST(Pkcs11UriRfcExamplesTest, PrivateKeyWithPinSource) {
  absl::StatusOr<Pkcs11Uri> uri =
      ParseOk("pkcs11:object=my-key;type=private?pin-source=file:/etc/token");
  ASSERT_THAT(uri, IsOk());
  Pkcs11Uri expected;
  expected.object = "my-key";
  expected.type = "private";
  expected.pin_source = "file:/etc/token";
  EXPECT_EQ(*uri, expected);
}

TEST(Pkcs11UriRfcExamplesTest, CertificateWithBinaryIdAndEmptySerial) {
  absl::StatusOr<Pkcs11Uri> uri = ParseOk(
      "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;"
      "model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BE%2D%FF;serial=");
  ASSERT_THAT(uri, IsOk());
  Pkcs11Uri expected;
  expected.token = "The Software PKCS#11 Softtoken";
  expected.manufacturer = "Snake Oil, Inc.";
  expected.model = "1.0";
  expected.object = "my-certificate";
  expected.type = "cert";
  expected.id = std::string("\x69\x95\x3E\x5C\xF4\xBE\x2D\xFF", 8);
  expected.serial = "";  // present and empty, not absent
  EXPECT_EQ(*uri, expected);
  EXPECT_EQ(FormatPkcs11Uri(*uri),
            "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;"
            "serial=;model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BE%2D%FF");
}

TEST(Pkcs11UriRfcExamplesTest, EscapedPercentAndSemicolon) {
  absl::StatusOr<Pkcs11Uri> uri = ParseOk(
      "pkcs11:token=A%20name%20with%20a%20substring%20%25%3B;object=my-certificate;type=cert");
  ASSERT_THAT(uri, IsOk());
  EXPECT_EQ(uri->token, "A name with a substring %;");
  EXPECT_EQ(uri->object, "my-certificate");
  EXPECT_EQ(uri->type, "cert");
}

TEST(Pkcs11UriRfcExamplesTest, Utf8InLabel) {
  absl::StatusOr<Pkcs11Uri> uri = ParseOk(
      "pkcs11:token=Name%20with%20a%20small%20A%20with%20acute:%20%C3%A1;object=my-certificate;"
      "type=cert");
  ASSERT_THAT(uri, IsOk());
  EXPECT_EQ(uri->token, "Name with a small A with acute: \xC3\xA1");
}

// RFC 7512 vendor attributes need no "x-" prefix and an unrecognised path
// attribute must match nothing; Signet refuses the URI (see pkcs11_uri.h).
TEST(Pkcs11UriRfcExamplesTest, VendorPathAttributeIsRefused) {
  absl::Status status = RefusedStatus(
      "pkcs11:token=my-token;object=my-certificate;type=cert;vendor-aaa=value-a"
      "?pin-source=file:/etc/token&vendor-bbb=value-b",
      "value-a");
  EXPECT_THAT(std::string(status.message()), HasSubstr("\"vendor-aaa\""));
  EXPECT_THAT(std::string(status.message()), HasSubstr("matches nothing"));
}

TEST(Pkcs11UriRfcExamplesTest, VendorQueryAttributeWithoutXPrefixIsRefused) {
  absl::Status status = RefusedStatus(
      "pkcs11:token=my-token;object=my-certificate;type=cert"
      "?pin-source=file:/etc/token&vendor-bbb=value-b",
      "value-b");
  EXPECT_THAT(std::string(status.message()), HasSubstr("\"vendor-bbb\""));
}

TEST(Pkcs11UriRfcExamplesTest, XPrefixedVendorQueryAttributeIsIgnored) {
  absl::StatusOr<Pkcs11Uri> uri = ParseOk(
      "pkcs11:token=my-token;object=my-certificate;type=cert"
      "?pin-source=file:/etc/token&x-vendor-bbb=value-b");
  ASSERT_THAT(uri, IsOk());
  Pkcs11Uri expected;
  expected.token = "my-token";
  expected.object = "my-certificate";
  expected.type = "cert";
  expected.pin_source = "file:/etc/token";
  EXPECT_EQ(*uri, expected);
}

TEST(Pkcs11UriRfcExamplesTest, XPrefixedVendorPathAttributeIsRefused) {
  absl::Status status = RefusedStatus("pkcs11:token=my-token;x-vendor-aaa=value-a", "value-a");
  EXPECT_THAT(std::string(status.message()), HasSubstr("\"x-vendor-aaa\""));
}

TEST(Pkcs11UriRfcExamplesTest, SlotDescription) {
  absl::StatusOr<Pkcs11Uri> uri = ParseOk("pkcs11:slot-description=Sun%20Metaslot");
  ASSERT_THAT(uri, IsOk());
  Pkcs11Uri expected;
  expected.slot_description = "Sun Metaslot";
  EXPECT_EQ(*uri, expected);
}

TEST(Pkcs11UriRfcExamplesTest, LibraryAttributes) {
  absl::StatusOr<Pkcs11Uri> uri = ParseOk(
      "pkcs11:library-manufacturer=Snake%20Oil,%20Inc.;library-description=Soft%20Token%20Library;"
      "library-version=1.23");
  ASSERT_THAT(uri, IsOk());
  Pkcs11Uri expected;
  expected.library_manufacturer = "Snake Oil, Inc.";
  expected.library_description = "Soft Token Library";
  expected.library_version = "1.23";
  EXPECT_EQ(*uri, expected);
}

TEST(Pkcs11UriRfcExamplesTest, ModuleName) {
  absl::StatusOr<Pkcs11Uri> uri =
      ParseOk("pkcs11:object=my-sign-key;type=private?module-name=mypkcs11");
  ASSERT_THAT(uri, IsOk());
  EXPECT_EQ(uri->object, "my-sign-key");
  EXPECT_EQ(uri->type, "private");
  EXPECT_EQ(uri->module_name, "mypkcs11");
  EXPECT_EQ(uri->module_path, std::nullopt);
}

TEST(Pkcs11UriRfcExamplesTest, ModulePath) {
  absl::StatusOr<Pkcs11Uri> uri =
      ParseOk("pkcs11:object=my-sign-key;type=private?module-path=/mnt/libmypkcs11.so.1");
  ASSERT_THAT(uri, IsOk());
  EXPECT_EQ(uri->module_path, "/mnt/libmypkcs11.so.1");
  EXPECT_EQ(uri->module_name, std::nullopt);
}

TEST(Pkcs11UriRfcExamplesTest, PinValueIsRefusedWithoutEchoingIt) {
  absl::Status status = RefusedStatus(
      "pkcs11:token=Software%20PKCS%2311%20softtoken;manufacturer=Snake%20Oil,%20Inc.?"
      "pin-value=the-pin",
      "the-pin");
  EXPECT_EQ(status.message(), "pin-value in a pkcs11: URI is not accepted; use pin-source");
}

// --- pin-value and secrecy of errors ---------------------------------------

TEST(Pkcs11UriTest, PinValueIsRefusedAnywhereAndInAnyCase) {
  for (absl::string_view text : {
           "pkcs11:pin-value=the-pin",
           "pkcs11:token=t;pin-value=the-pin;object=o",
           "pkcs11:token=t?pin-value=the-pin&module-name=m",
           "pkcs11:token=t?module-name=m&pin-value=the-pin",
           "pkcs11:token=t?PIN-VALUE=the-pin",
           "pkcs11:token=t?pin-value=the-pin&pin-value=the-pin",
           "pkcs11:token=t?pin-value=the-pin%zz",
       }) {
    absl::Status status = RefusedStatus(text, "the-pin");
    EXPECT_THAT(std::string(status.message()), HasSubstr("use pin-source")) << text;
  }
}

TEST(Pkcs11UriTest, NoErrorEchoesAValue) {
  for (absl::string_view text : {
           "pkcs11:token=the-pin;token=other",
           "pkcs11:token=the-pin%zz",
           "pkcs11:token=the-pin%2",
           "pkcs11:token=the-pin/x",
           "pkcs11:the-pin",
           "pkcs11:token=x;the-pin",
           "pkcs11:token=x?the-pin",
           "pkcs11:token=x?the-pin&module-name=m",
           "pkcs11:object=the-pin;type=the-pin",
           "pkcs11:slot-id=the-pin",
           "pkcs11:library-version=the-pin",
           "pkcs11:token=the-pin%00",
           "pkcs11:?module-path=the-pin",
           "pkcs11:?module-name=/the-pin",
           "pkcs11:token=x;y-the-pin=the-pin",
           "pkcs11:?x-the-pin=the-pin&x-the-pin=the-pin",
           "the-pin",
           "pkcs12:token=the-pin",
       }) {
    ExpectRefused(text, "the-pin=");
    absl::StatusOr<Pkcs11Uri> uri = ParsePkcs11Uri(text);
    ASSERT_THAT(uri, Not(IsOk()));
    // Only a well-formed attribute name may come back, never a value.
    std::string message(uri.status().message());
    for (const std::string name : {"\"y-the-pin\"", "\"x-the-pin\""}) {
      if (const std::size_t at = message.find(name); at != std::string::npos) {
        message.erase(at, name.size());
      }
    }
    EXPECT_THAT(message, Not(HasSubstr("the-pin"))) << text;
  }
}

// --- other errors ------------------------------------------------------------

TEST(Pkcs11UriTest, BadPercentEscapeIsRefusedNamingAttributeAndOffset) {
  for (absl::string_view text :
       {"pkcs11:token=a%2", "pkcs11:token=a%", "pkcs11:token=a%zz", "pkcs11:token=a%G0b"}) {
    absl::Status status = RefusedStatus(text, "a%");
    EXPECT_THAT(std::string(status.message()), HasSubstr("\"token\"")) << text;
    EXPECT_THAT(std::string(status.message()), HasSubstr("percent escape at offset 14")) << text;
  }
  ExpectRefused("pkcs11:?module-path=/a%", "/a");
}

TEST(Pkcs11UriTest, LowerCaseHexEscapesAreAccepted) {
  absl::StatusOr<Pkcs11Uri> uri = ParseOk("pkcs11:id=%ff%0a");
  ASSERT_THAT(uri, IsOk());
  EXPECT_EQ(uri->id, std::string("\xff\x0a"));
}

TEST(Pkcs11UriTest, DuplicateAttributesAreRefused) {
  for (absl::string_view text : {
           "pkcs11:token=a;token=b",
           "pkcs11:token=a;object=o;token=a",
           "pkcs11:slot-id=1;slot-id=2",
           "pkcs11:id=%01;id=%01",
           "pkcs11:serial=;serial=",
           "pkcs11:?module-name=a&module-name=b",
           "pkcs11:?pin-source=file:/a&pin-source=file:/b",
           "pkcs11:?x-vendor=a&x-vendor=b",
       }) {
    absl::Status status = RefusedStatus(text, "=b");
    EXPECT_THAT(std::string(status.message()), HasSubstr("more than once")) << text;
  }
}

TEST(Pkcs11UriTest, SlotIdMustBeDecimal) {
  absl::StatusOr<Pkcs11Uri> uri = ParseOk("pkcs11:slot-id=42");
  ASSERT_THAT(uri, IsOk());
  EXPECT_EQ(uri->slot_id, 42ul);
  uri = ParseOk("pkcs11:slot-id=0");
  ASSERT_THAT(uri, IsOk());
  EXPECT_EQ(uri->slot_id, 0ul);
  for (absl::string_view text : {
           "pkcs11:slot-id=",
           "pkcs11:slot-id=-1",
           "pkcs11:slot-id=+1",
           "pkcs11:slot-id=0x10",
           "pkcs11:slot-id=1a",
           "pkcs11:slot-id=%201",
           "pkcs11:slot-id=99999999999999999999999999",
       }) {
    absl::Status status = RefusedStatus(text, "slot-id=");
    EXPECT_THAT(std::string(status.message()), HasSubstr("\"slot-id\"")) << text;
  }
}

TEST(Pkcs11UriTest, TypeMustBeOneOfTheRfcValues) {
  for (absl::string_view type : {"private", "public", "cert", "secret-key", "data"}) {
    absl::StatusOr<Pkcs11Uri> uri = ParseOk(absl::StrCat("pkcs11:type=", type));
    ASSERT_THAT(uri, IsOk());
    EXPECT_EQ(uri->type, type);
  }
  for (absl::string_view text :
       {"pkcs11:type=key", "pkcs11:type=PRIVATE", "pkcs11:type=", "pkcs11:type=private%00"}) {
    absl::Status status = RefusedStatus(text, "type=");
    EXPECT_THAT(std::string(status.message()), HasSubstr("\"type\"")) << text;
  }
}

TEST(Pkcs11UriTest, LibraryVersionMustBeDecimal) {
  for (absl::string_view version : {"1", "1.0", "23.456"}) {
    absl::StatusOr<Pkcs11Uri> uri = ParseOk(absl::StrCat("pkcs11:library-version=", version));
    ASSERT_THAT(uri, IsOk());
    EXPECT_EQ(uri->library_version, version);
  }
  for (absl::string_view text :
       {"pkcs11:library-version=", "pkcs11:library-version=1.", "pkcs11:library-version=.1",
        "pkcs11:library-version=1.2.3", "pkcs11:library-version=v1"}) {
    ExpectRefused(text, "library-version=");
  }
}

TEST(Pkcs11UriTest, OverlongUriIsRefused) {
  const std::string prefix = "pkcs11:object=";
  const std::string longest = prefix + std::string(kMaxPkcs11UriLength - prefix.size(), 'a');
  EXPECT_THAT(ParsePkcs11Uri(longest), IsOk());
  absl::Status status = RefusedStatus(longest + "a", "aaaa");
  EXPECT_THAT(std::string(status.message()), HasSubstr("4097 characters"));
}

TEST(Pkcs11UriTest, WrongSchemeIsRefused) {
  for (absl::string_view text : {"", "pkcs11", "pkcs12:token=t", "token=t", " pkcs11:token=t",
                                 "file:/etc/token", "pkcs11%3Atoken=t"}) {
    absl::Status status = RefusedStatus(text, "token=t");
    EXPECT_THAT(std::string(status.message()), HasSubstr("not a pkcs11: URI")) << text;
  }
}

TEST(Pkcs11UriTest, SchemeIsCaseInsensitive) {
  absl::StatusOr<Pkcs11Uri> uri = ParseOk("PKCS11:token=t");
  ASSERT_THAT(uri, IsOk());
  EXPECT_EQ(uri->token, "t");
  EXPECT_THAT(ParsePkcs11Uri("Pkcs11:token=t"), IsOk());
}

TEST(Pkcs11UriTest, CharactersOutsideTheRfcSetMustBeEscaped) {
  for (absl::string_view text : {
           "pkcs11:token=a b",
           "pkcs11:object=a/b",  // '/' is a query character only
           "pkcs11:object=a|b",  // so is '|'
           "pkcs11:token=a#frag",
           "pkcs11:token=\"a\"",
           "pkcs11:token=\xC3\xA1",
           "pkcs11:?module-path=/a;b",
           "pkcs11:?module-path=/a b",
       }) {
    absl::Status status = RefusedStatus(text);
    EXPECT_THAT(std::string(status.message()), HasSubstr("percent-encoded")) << text;
  }
}

TEST(Pkcs11UriTest, RfcReservedCharactersAreAcceptedUnescaped) {
  absl::StatusOr<Pkcs11Uri> uri =
      ParseOk("pkcs11:token=a:[]@!$'()*+,=&-._~?module-path=/x:[]@!$'()*+,=/?|-._~");
  ASSERT_THAT(uri, IsOk());
  EXPECT_EQ(uri->token, "a:[]@!$'()*+,=&-._~");
  EXPECT_EQ(uri->module_path, "/x:[]@!$'()*+,=/?|-._~");
}

TEST(Pkcs11UriTest, EmptyQueryIsAcceptedButEmptyAttributesAreNot) {
  absl::StatusOr<Pkcs11Uri> uri = ParseOk("pkcs11:token=t?");
  ASSERT_THAT(uri, IsOk());
  EXPECT_EQ(uri->token, "t");
  EXPECT_THAT(ParsePkcs11Uri("pkcs11:?module-name=m"), IsOk());
  for (absl::string_view text :
       {"pkcs11:;", "pkcs11:token=t;", "pkcs11:;token=t", "pkcs11:token=t;;object=o", "pkcs11:?&",
        "pkcs11:?module-name=m&", "pkcs11:token", "pkcs11:=t", "pkcs11:to%6Ben=t",
        "pkcs11:tok en=t"}) {
    absl::Status status = RefusedStatus(text);
    EXPECT_THAT(std::string(status.message()), HasSubstr("expected name=value")) << text;
  }
}

TEST(Pkcs11UriTest, AttributeInTheWrongComponentIsRefusedWithAHint) {
  absl::Status status = RefusedStatus("pkcs11:token=t;pin-source=file:/etc/pin", "/etc/pin");
  EXPECT_THAT(std::string(status.message()), HasSubstr("\"pin-source\""));
  EXPECT_THAT(std::string(status.message()), HasSubstr("belongs in the query"));
  status = RefusedStatus("pkcs11:?token=t", "=t");
  EXPECT_THAT(std::string(status.message()), HasSubstr("belongs in the path"));
  status = RefusedStatus("pkcs11:?slot-id=1", "=1");
  EXPECT_THAT(std::string(status.message()), HasSubstr("belongs in the path"));
}

TEST(Pkcs11UriTest, UnknownAttributesAreRefusedExceptXPrefixedQueryOnes) {
  ExpectRefused("pkcs11:tokn=t", "=t");
  ExpectRefused("pkcs11:Token=t", "=t");  // names are lower case
  ExpectRefused("pkcs11:token=t?pin-sorce=file:/etc/pin", "/etc/pin");
  absl::StatusOr<Pkcs11Uri> uri = ParseOk("pkcs11:token=t?x-a=1&X-b=2&x-c=");
  ASSERT_THAT(uri, IsOk());
  EXPECT_EQ(FormatPkcs11Uri(*uri), "pkcs11:token=t");
  // Ignored attributes still have to be well-formed.
  ExpectRefused("pkcs11:token=t?x-a=%zz", "%zz");
}

TEST(Pkcs11UriTest, NulByteIsRefusedInTextButNotInId) {
  ExpectRefused("pkcs11:token=a%00b", "a%00b");
  ExpectRefused("pkcs11:?module-path=/lib/a.so%00.evil", "evil");
  absl::StatusOr<Pkcs11Uri> uri = ParseOk("pkcs11:id=%00%01");
  ASSERT_THAT(uri, IsOk());
  EXPECT_EQ(uri->id, std::string("\0\x01", 2));
}

TEST(Pkcs11UriTest, ModulePathMustBeAbsoluteAndModuleNameAName) {
  absl::Status status = RefusedStatus("pkcs11:?module-path=libsofthsm2.so", "libsofthsm2");
  EXPECT_THAT(std::string(status.message()), HasSubstr("absolute"));
  status = RefusedStatus("pkcs11:?module-name=../lib/evil", "evil");
  EXPECT_THAT(std::string(status.message()), HasSubstr("without '/'"));
  ExpectRefused("pkcs11:?module-name=");
}

// --- formatting --------------------------------------------------------------

TEST(FormatPkcs11UriTest, EmptyUri) { EXPECT_EQ(FormatPkcs11Uri(Pkcs11Uri{}), "pkcs11:"); }

TEST(FormatPkcs11UriTest, EscapesPerComponent) {
  Pkcs11Uri uri;
  uri.token = "a/b;c?d&e%f g=h";
  uri.module_path = "/usr/lib/a&b;c?d|e f";
  EXPECT_EQ(FormatPkcs11Uri(uri),
            "pkcs11:token=a%2Fb%3Bc%3Fd&e%25f%20g=h?module-path=/usr/lib/a%26b%3Bc?d|e%20f");
}

TEST(FormatPkcs11UriTest, IdIsAlwaysFullyEncoded) {
  Pkcs11Uri uri;
  uri.id = "AZ09";
  EXPECT_EQ(FormatPkcs11Uri(uri), "pkcs11:id=%41%5A%30%39");
}

TEST(FormatPkcs11UriTest, PinValueFlagIsNeverWritten) {
  Pkcs11Uri uri;
  uri.token = "t";
  uri.has_pin_value = true;
  EXPECT_EQ(FormatPkcs11Uri(uri), "pkcs11:token=t");
}

TEST(FormatPkcs11UriTest, CanonicalOrder) {
  absl::StatusOr<Pkcs11Uri> uri = ParseOk(
      "pkcs11:slot-id=3;type=private;object=k;token=t"
      "?module-path=/m.so&module-name=m&pin-source=env:PIN");
  ASSERT_THAT(uri, IsOk());
  EXPECT_EQ(FormatPkcs11Uri(*uri),
            "pkcs11:token=t;object=k;type=private;slot-id=3"
            "?pin-source=env:PIN&module-name=m&module-path=/m.so");
}

TEST(FormatPkcs11UriTest, BinaryIdRoundTrips) {
  Pkcs11Uri uri;
  std::string id;
  for (int byte = 0; byte < 256; ++byte) id.push_back(static_cast<char>(byte));
  uri.id = id;
  absl::StatusOr<Pkcs11Uri> parsed = ParseOk(FormatPkcs11Uri(uri));
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->id, id);
  EXPECT_EQ(*parsed, uri);
}

TEST(FormatPkcs11UriTest, EveryAttributeRoundTrips) {
  const std::string awkward = "x %;&?/#=|[]\xC3\xA1\x7f\x01";
  Pkcs11Uri uri;
  uri.token = "t" + awkward;
  uri.manufacturer = "m" + awkward;
  uri.serial = "";
  uri.model = "mo" + awkward;
  uri.library_manufacturer = "lm" + awkward;
  uri.library_description = "ld" + awkward;
  uri.object = "o" + awkward;
  uri.type = "secret-key";
  uri.id = std::string("\0\xff", 2) + awkward;
  uri.slot_id = 4294967295ul;
  uri.slot_description = "sd" + awkward;
  uri.slot_manufacturer = "sm" + awkward;
  uri.library_version = "2.40";
  uri.module_path = "/opt/" + awkward;
  uri.module_name = "softhsm2 " + std::string("%;&?#=|");
  uri.pin_source = "file:/etc/" + awkward;
  const std::string text = FormatPkcs11Uri(uri);
  absl::StatusOr<Pkcs11Uri> parsed = ParseOk(text);
  ASSERT_THAT(parsed, IsOk()) << text;
  EXPECT_EQ(*parsed, uri) << text;
  EXPECT_EQ(FormatPkcs11Uri(*parsed), text);
}

TEST(FormatPkcs11UriTest, RfcExamplesRoundTrip) {
  for (absl::string_view text : {
           "pkcs11:",
           "pkcs11:object=my-pubkey;type=public",
           "pkcs11:object=my-key;type=private?pin-source=file:/etc/token",
           "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;"
           "model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BE%2D%FF;serial=",
           "pkcs11:token=A%20name%20with%20a%20substring%20%25%3B;object=my-certificate;type=cert",
           "pkcs11:token=Name%20with%20a%20small%20A%20with%20acute:%20%C3%A1;"
           "object=my-certificate;type=cert",
           "pkcs11:slot-description=Sun%20Metaslot",
           "pkcs11:library-manufacturer=Snake%20Oil,%20Inc.;"
           "library-description=Soft%20Token%20Library;library-version=1.23",
           "pkcs11:object=my-sign-key;type=private?module-name=mypkcs11",
           "pkcs11:object=my-sign-key;type=private?module-path=/mnt/libmypkcs11.so.1",
       }) {
    absl::StatusOr<Pkcs11Uri> uri = ParseOk(text);
    ASSERT_THAT(uri, IsOk()) << text;
    absl::StatusOr<Pkcs11Uri> again = ParseOk(FormatPkcs11Uri(*uri));
    ASSERT_THAT(again, IsOk()) << text;
    EXPECT_EQ(*again, *uri) << text;
  }
}

}  // namespace
}  // namespace signet
