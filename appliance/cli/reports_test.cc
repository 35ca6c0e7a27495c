#include "appliance/cli/reports.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace signet::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

TEST(FormatSignersTest, SaysWhoSignedAndWhetherTheChainIsTrusted) {
  v1::MailResponse::Header header;
  v1::Signer* signer = header.add_signers();
  signer->set_subject("CN=Bank signing");
  signer->set_issuer("CN=Bank CA");
  signer->set_serial_hex("0A1B");
  signer->add_email_addresses("statements@bank.example");
  signer->mutable_signing_time()->set_seconds(1700000000);
  signer->set_digest_algorithm("sha256");
  signer->set_signature_algorithm("rsaEncryption");
  signer->set_chain_status(v1::TRUSTED);
  signer->add_chain("CN=Bank signing");
  signer->add_chain("CN=Bank CA");
  signer->set_from_matches_signer(true);
  header.set_from_address("statements@bank.example");
  EXPECT_EQ(FormatSigners(header),
            "Verified multipart/signed mail, 1 signer:\n"
            "  From:       statements@bank.example (an address of the signer)\n"
            "  signer:     CN=Bank signing\n"
            "  email:      statements@bank.example\n"
            "  issuer:     CN=Bank CA\n"
            "  serial:     0A1B\n"
            "  signed at:  2023-11-14 22:13:20 UTC (the signer's claim)\n"
            "  algorithms: sha256 with rsaEncryption\n"
            "  chain:      trusted (CN=Bank signing < CN=Bank CA)\n");

  header.set_opaque(true);
  signer->set_chain_status(v1::UNTRUSTED);
  signer->set_chain_detail("unable to get local issuer certificate");
  signer->clear_chain();
  const std::string report = FormatSigners(header);
  EXPECT_THAT(report, HasSubstr("Verified opaque signed-data mail"));
  EXPECT_THAT(report, HasSubstr("chain:      NOT TRUSTED: unable to get local issuer"));
}

TEST(FormatSignersTest, AFromThatIsNotTheSignersComesFirstAsAWarning) {
  v1::MailResponse::Header header;
  v1::Signer* signer = header.add_signers();
  signer->set_subject("CN=Bank signing");
  signer->add_email_addresses("statements@bank.example");
  signer->set_chain_status(v1::TRUSTED);
  header.set_from_address("support@evil.example");
  std::string report = FormatSigners(header);
  EXPECT_THAT(report, StartsWith("WARNING: the From: address support@evil.example is NOT an "
                                 "address of the signer\n"
                                 "Verified multipart/signed mail, 1 signer:\n"
                                 "  From:       support@evil.example (NOT an address of the "
                                 "signer)\n"));

  header.clear_from_address();
  header.set_from_problem("the mail has 2 From: fields, so the author it claims is ambiguous");
  report = FormatSigners(header);
  EXPECT_THAT(report, StartsWith("WARNING: the sender is not verified: the mail has 2 From: "
                                 "fields, so the author it claims is ambiguous\n"
                                 "Verified multipart/signed mail, 1 signer:\n"
                                 "  From:       - (the mail has 2 From: fields"));
}

TEST(FormatSignersTest, SaysWhichOfSeveralSignersTheFromBelongsTo) {
  v1::MailResponse::Header header;
  header.set_from_address("statements@bank.example");
  v1::Signer* gateway = header.add_signers();
  gateway->set_subject("CN=Gateway");
  v1::Signer* bank = header.add_signers();
  bank->set_subject("CN=Bank signing");
  bank->set_from_matches_signer(true);
  std::string report = FormatSigners(header);
  EXPECT_THAT(report, StartsWith("Verified multipart/signed mail, 2 signers:\n"
                                 "  From:       statements@bank.example (an address of a "
                                 "signer)\n"
                                 "  signer:     CN=Gateway\n"
                                 "  From match: no\n"));
  EXPECT_THAT(report, HasSubstr("  signer:     CN=Bank signing\n"
                                "  From match: yes\n"));

  bank->set_from_matches_signer(false);
  EXPECT_THAT(FormatSigners(header),
              StartsWith("WARNING: the From: address statements@bank.example is NOT an address "
                         "of any signer\n"));
}

TEST(FormatSignersTest, ShowsTheRevocationStatusOfEachCheckedCertificate) {
  v1::MailResponse::Header header;
  header.set_from_address("statements@bank.example");
  v1::Signer* signer = header.add_signers();
  signer->set_subject("CN=Statements");
  signer->add_email_addresses("statements@bank.example");
  signer->set_from_matches_signer(true);
  signer->set_chain_status(v1::UNTRUSTED);
  signer->set_chain_detail("certificate revoked");
  v1::CertificateRevocation* revoked = signer->add_revocation();
  revoked->set_subject("CN=Statements");
  revoked->set_status(v1::REVOCATION_REVOKED);
  revoked->mutable_revoked_at()->set_seconds(1796126400);  // 2026-12-01 12:00 UTC
  revoked->set_reason("keyCompromise");
  v1::CertificateRevocation* good = signer->add_revocation();
  good->set_subject("CN=Bank CA");
  good->set_status(v1::REVOCATION_GOOD);
  good->set_source("http://crl.bank.example/root.crl");
  v1::CertificateRevocation* anchor = signer->add_revocation();
  anchor->set_subject("CN=Bank Root");
  anchor->set_status(v1::REVOCATION_NOT_CHECKED);
  const std::string report = FormatSigners(header);
  EXPECT_THAT(report, HasSubstr("  revocation: CN=Statements: REVOKED on 2026-12-01 12:00 UTC "
                                "(keyCompromise)\n"));
  EXPECT_THAT(report,
              HasSubstr("  revocation: CN=Bank CA: good (http://crl.bank.example/root.crl)\n"));
  EXPECT_THAT(report, Not(HasSubstr("CN=Bank Root:")));

  good->set_status(v1::REVOCATION_STATUS_UNKNOWN);
  good->set_reason("unable to get certificate CRL");
  EXPECT_THAT(FormatSigners(header),
              HasSubstr("  revocation: CN=Bank CA: UNKNOWN: unable to get certificate CRL\n"));
}

TEST(FormatSignersTest, AValidTimeStampSaysWhenTheSignatureWasValid) {
  v1::MailResponse::Header header;
  header.set_from_address("statements@bank.example");
  v1::Signer* signer = header.add_signers();
  signer->set_subject("CN=Statements");
  signer->set_from_matches_signer(true);
  signer->set_chain_status(v1::TRUSTED);
  std::string report = FormatSigners(header);
  // No stamp, no line: most mail has none.
  EXPECT_THAT(report, Not(HasSubstr("time-stamp")));

  v1::TimestampReport* stamp = signer->mutable_timestamp();
  stamp->set_status(v1::TIMESTAMP_VALID);
  stamp->mutable_time()->set_seconds(1796126400);  // 2026-12-01 12:00 UTC
  stamp->set_tsa("CN=Bank TSA");
  report = FormatSigners(header);
  // Next to the signer, before the chain it changes the reading of.
  EXPECT_THAT(report, HasSubstr("  signer:     CN=Statements\n"
                                "  time-stamp: valid at 2026-12-01 12:00:00 UTC (time-stamped by "
                                "CN=Bank TSA; the chain judged as of then)\n"));
  EXPECT_THAT(report, StartsWith("Verified "));

  stamp->set_status(v1::TIMESTAMP_INVALID);
  stamp->set_detail("the stamp is over another signature");
  report = FormatSigners(header);
  EXPECT_THAT(report, StartsWith("WARNING: the time-stamp of CN=Statements is INVALID: the stamp "
                                 "is over another signature\n"));
  EXPECT_THAT(report, HasSubstr("  time-stamp: INVALID, proves nothing: the stamp is over "
                                "another signature\n"));
  EXPECT_THAT(report, Not(HasSubstr("valid at")));
}

TEST(FormatSignatureTimestampTest, TheStampOrWhyThereIsNone) {
  v1::SignatureTimestamp stamp;
  stamp.set_stamped(true);
  stamp.mutable_time()->set_seconds(1796126400);
  stamp.set_tsa("CN=Bank TSA");
  stamp.set_serial_hex("2A");
  EXPECT_EQ(FormatSignatureTimestamp("sign", stamp),
            "signet: sign: time-stamped by CN=Bank TSA at 2026-12-01 12:00:00 UTC (serial 2A)\n");
  v1::SignatureTimestamp missing;
  missing.set_problem("http://tsa.example/: connection refused");
  EXPECT_EQ(FormatSignatureTimestamp("sign-digest", missing),
            "signet: sign-digest: WARNING: the signature is NOT time-stamped: "
            "http://tsa.example/: connection refused\n");
}

TEST(FormatTokensTest, OneAlignedLineAToken) {
  v1::ListTokensResponse tokens;
  v1::Token* token = tokens.add_tokens();
  token->set_name("hsm-a");
  token->set_label("bank-hsm");
  token->set_serial("0123");
  token->set_manufacturer("SoftHSM project");
  token->set_model("SoftHSM v2");
  token->set_state(v1::READY);
  token->set_operations_in_flight(3);
  token->set_max_in_flight(40);
  token = tokens.add_tokens();
  token->set_name("usb-token");
  token->set_state(v1::LOCKED_OUT);
  token->set_state_detail("the PIN was refused");
  EXPECT_EQ(FormatTokens(tokens),
            "NAME       STATE       IN FLIGHT  LABEL     SERIAL  MODEL                       "
            "DETAIL\n"
            "hsm-a      ready       3/40       bank-hsm  0123    SoftHSM project SoftHSM v2\n"
            "usb-token  locked-out  0/0        -         -       -                           "
            "the PIN was refused\n");
}

TEST(FormatKeysTest, OneLineAKey) {
  v1::ListKeysResponse keys;
  v1::Key* key = keys.add_keys();
  key->set_name("bank-signing");
  key->set_token("hsm-a");
  key->set_algorithm(v1::RSA_3072);
  key->set_purpose(v1::SIGN);
  key->set_label("signing");
  key->set_id("\x01\xab");
  key->add_certificate_chain("der");
  EXPECT_EQ(FormatKeys(keys),
            "NAME          TOKEN  ALGORITHM  PURPOSE  LABEL    ID    CERTIFICATES\n"
            "bank-signing  hsm-a  rsa-3072   sign     signing  01ab  1\n");
}

TEST(FormatKeyTest, AttributesThenPem) {
  v1::Key key;
  key.set_name("bank-decryption");
  key.set_algorithm(v1::EC_P256);
  key.set_purpose(v1::DECRYPT);
  key.set_sensitive(true);
  key.set_never_extractable(true);
  key.set_always_authenticate(true);
  key.set_public_key("\x30\x01");
  key.add_certificate_chain("\x30\x02");
  const std::string text = FormatKey(key);
  EXPECT_THAT(text, HasSubstr("name:                 bank-decryption\n"));
  EXPECT_THAT(text, HasSubstr("algorithm:            ec-p256\n"));
  EXPECT_THAT(text, HasSubstr("purpose:              decrypt\n"));
  EXPECT_THAT(text, HasSubstr("sensitive:            yes\n"));
  EXPECT_THAT(text, HasSubstr("extractable:          no\n"));
  EXPECT_THAT(text, HasSubstr("always authenticate:  yes\n"));
  EXPECT_THAT(text, HasSubstr("-----BEGIN PUBLIC KEY-----\nMAE=\n-----END PUBLIC KEY-----\n"));
  EXPECT_THAT(text, HasSubstr("-----BEGIN CERTIFICATE-----\nMAI=\n-----END CERTIFICATE-----\n"));
}

}  // namespace
}  // namespace signet::cli
