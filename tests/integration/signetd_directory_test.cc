// The certificate directory through signetd (issue #18): a customer's
// certificate harvested from the signed mail VerifyMail trusts, then mail
// encrypted to the address alone with the algorithms the customer
// advertised (gpgsm signs, so gpgsm must decrypt: AES-CBC with PKCS#1 v1.5);
// LDAP (a real slapd) and SMIMEA (nsd serving a signed zone, a forged one
// refused) as later sources; unknown addresses failing per
// recipient or skipped; operators publishing, listing and removing, audited;
// the public endpoint serving published certificates and never harvested
// ones; grants enforced.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "appliance/audit/entry_json.h"
#include "appliance/cms/smime_format.h"
#include "appliance/directory/ldif_export.h"
#include "appliance/directory/smimea_export.h"
#include "common/ossl_ptr.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/v1/directory.grpc.pb.h"
#include "signet/v1/errors.pb.h"
#include "signet/v1/mail.grpc.pb.h"
#include "tests/fixtures/cms_verifiers.h"
#include "tests/fixtures/free_port.h"
#include "tests/fixtures/mail_stream_call.h"
#include "tests/fixtures/nsd_server.h"
#include "tests/fixtures/read_file.h"
#include "tests/fixtures/signetd_channels.h"
#include "tests/fixtures/signetd_env.h"
#include "tests/fixtures/slapd.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/subprocess.h"
#include "tests/fixtures/temp_dir.h"
#include "tests/fixtures/test_pki.h"

namespace signet {
namespace {

using fixtures::StreamMail;
using ::signet::matchers::IsOk;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kStatement[] =
    "From: Statements <statements@bank.example>\r\n"
    "Subject: Your statement\r\n"
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "Balance on 6 December: 1,234.56 EUR.\r\n";

constexpr char kCustomerEntity[] =
    "Content-Type: text/plain; charset=us-ascii\r\n"
    "\r\n"
    "Please send my statements encrypted.\r\n";

// The test's uid does everything; "clerk" (mTLS) may encrypt but not look
// certificates up.
constexpr char kCallers[] = R"pb(
  callers {
    name: "gateway"
    unix_uid: $UID
    grants { keys: "bank-signing" operations: SIGN_MAIL }
    grants { operations: [ ENCRYPT_MAIL, VERIFY_MAIL, LOOKUP_CERTIFICATES, PUBLISH_CERTIFICATES ] }
  }
  callers {
    name: "clerk"
    certificate_subject: "CN=clerk"
    grants { operations: [ ENCRYPT_MAIL, VERIFY_MAIL ] }
  }
)pb";

struct Customer {
  EvpPkeyPtr key;
  X509Ptr certificate;
  std::string der;
  std::string certificate_path;
  std::string key_path;
};

struct World {
  fixtures::TempDir dir;
  std::unique_ptr<fixtures::TestCa> ca;
  Customer gpgsm_user;  // alice: signs with gpgsm, harvested
  Customer ldap_user;   // carol: only in LDAP
  Customer published;   // treasury@bank.example: published by the operator
  Customer dns_user;    // dave@example.net: an SMIMEA record in a signed zone
  Customer forged;      // erin@forged.example: SMIMEA in a zone that fails DNSSEC
  std::unique_ptr<fixtures::NsdServer> nsd;
  std::unique_ptr<fixtures::GpgsmHome> gpgsm;
  std::unique_ptr<fixtures::Slapd> slapd;
  int public_port = 0;
};

class SignetdDirectoryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_OK_AND_ASSIGN(fixtures::TempDir dir, fixtures::TempDir::Create("signet-directory"));
    world_ = new World{std::move(dir)};
    ASSERT_OK_AND_ASSIGN(fixtures::TestCa ca, fixtures::TestCa::Create("Customer CA"));
    world_->ca = std::make_unique<fixtures::TestCa>(std::move(ca));
    MakeCustomer("alice@example.org", world_->gpgsm_user);
    MakeCustomer("carol@example.org", world_->ldap_user);
    MakeCustomer("treasury@bank.example", world_->published);
    MakeCustomer("dave@example.net", world_->dns_user);
    MakeCustomer("erin@forged.example", world_->forged);
    const fixtures::TempDir& files = world_->dir;
    ASSERT_THAT(fixtures::WritePem(files.File("customer-ca.pem"), world_->ca->certificate()),
                IsOk());

    ASSERT_OK_AND_ASSIGN(fixtures::GpgsmHome gpgsm, fixtures::GpgsmHome::Create());
    world_->gpgsm = std::make_unique<fixtures::GpgsmHome>(std::move(gpgsm));
    ASSERT_THAT(world_->gpgsm->TrustRoot(world_->ca->certificate()), IsOk());
    ASSERT_THAT(world_->gpgsm->ImportPrivateKey(world_->gpgsm_user.key.get(),
                                                world_->gpgsm_user.certificate.get()),
                IsOk());

    ASSERT_OK_AND_ASSIGN(directory::LdifExport ldif,
                         directory::ExportLdif({world_->ldap_user.der}, "dc=bank,dc=example"));
    ASSERT_OK_AND_ASSIGN(world_->slapd, fixtures::Slapd::Start(ldif.ldif));
    ASSERT_OK_AND_ASSIGN(world_->public_port, fixtures::FreePort());
    // Usage 1 (PKIX-EE): the certificate must still chain to the customer CA.
    ASSERT_OK_AND_ASSIGN(
        std::string dave_record,
        directory::SmimeaZoneRecord({.address = "dave@example.net", .der = world_->dns_user.der},
                                    {.usage = 1}));
    ASSERT_OK_AND_ASSIGN(
        std::string erin_record,
        directory::SmimeaZoneRecord({.address = "erin@forged.example", .der = world_->forged.der},
                                    {.usage = 1}));
    ASSERT_OK_AND_ASSIGN(world_->nsd, fixtures::NsdServer::Start(
                                          {{.origin = "example.net", .records = {dave_record}},
                                           {.origin = "forged.example",
                                            .signing = fixtures::ZoneSigning::kTampered,
                                            .records = {erin_record}}}));

    // VerifyMail trusts the bank's CA and the customers'.
    const std::string anchors = files.File("anchors.pem");
    {
      ASSERT_OK_AND_ASSIGN(std::string customer_ca, fixtures::ToPem(world_->ca->certificate()));
      std::ofstream(anchors) << customer_ca;
    }
    absl::StatusOr<std::unique_ptr<fixtures::SignetdEnv>> env = fixtures::SignetdEnv::Start(
        {.signetd_path = SIGNETD_PATH,
         .callers = kCallers,
         .extra_config = absl::StrCat(
             "validation { recipient_trust_anchors_file: \"", files.File("customer-ca.pem"),
             "\" revocation: REVOCATION_OFF }\n", "directory { store_path: \"$DIR/directory.db\"",
             " ldap { urls: [ \"ldap://127.0.0.1:1\", \"", world_->slapd->url(),
             "\" ] base_dn: \"dc=bank,dc=example\" timeout_seconds: 2 }",
             " smimea { enabled: true trust_anchor_file: \"", world_->nsd->trust_anchor_file(),
             "\" authoritative_server: \"", world_->nsd->Address(), "\" timeout_seconds: 3 }",
             " public_http_address: \"127.0.0.1:", world_->public_port, "\"",
             " public_domains: \"bank.example\" public_domains: \"example.org\" }"),
         .tcp = true,
         .client_names = {"clerk"},
         .trust_anchors_file = anchors});
    ASSERT_THAT(env, IsOk());
    env_ = env->release();
  }

  static void TearDownTestSuite() {
    delete env_;
    env_ = nullptr;
    delete world_;
    world_ = nullptr;
  }

  static void MakeCustomer(const std::string& address, Customer& customer) {
    ASSERT_OK_AND_ASSIGN(customer.key, fixtures::GenerateKey("RSA:2048"));
    // Signs and receives, as most customers' S/MIME certificates do.
    ASSERT_OK_AND_ASSIGN(
        customer.certificate,
        world_->ca->Issue(customer.key.get(), address, address,
                          {.key_usage = "critical,digitalSignature,keyEncipherment"}));
    ASSERT_OK_AND_ASSIGN(customer.der, fixtures::ToDer(customer.certificate.get()));
    customer.certificate_path = world_->dir.File(address + ".pem");
    customer.key_path = world_->dir.File(address + ".key");
    ASSERT_THAT(fixtures::WritePem(customer.certificate_path, customer.certificate.get()), IsOk());
    ASSERT_THAT(fixtures::WritePrivateKeyPem(customer.key_path, customer.key.get()), IsOk());
  }

  static std::unique_ptr<v1::Mail::Stub> MailStub() {
    return v1::Mail::NewStub(fixtures::UnixChannel(*env_));
  }
  static std::unique_ptr<v1::Directory::Stub> DirectoryStub() {
    return v1::Directory::NewStub(fixtures::UnixChannel(*env_));
  }

  static fixtures::MailCallResult EncryptTo(const std::vector<std::string>& addresses,
                                            bool skip_unresolved = false,
                                            v1::Mail::Stub* stub = nullptr) {
    v1::EncryptMailRequest::Header header;
    for (const std::string& address : addresses) {
      header.mutable_options()->add_recipient_addresses(address);
    }
    header.mutable_options()->set_skip_unresolved_recipients(skip_unresolved);
    std::unique_ptr<v1::Mail::Stub> own = MailStub();
    return StreamMail<v1::EncryptMailRequest>(&v1::Mail::Stub::EncryptMail, stub ? *stub : *own,
                                              header, kStatement);
  }

  static grpc::Status Lookup(const std::string& address, v1::LookupResponse* response) {
    grpc::ClientContext context;
    v1::LookupRequest request;
    request.set_address(address);
    return DirectoryStub()->Lookup(&context, request, response);
  }

  static v1::ErrorDetails DetailsOf(const grpc::Status& status) {
    v1::ErrorDetails details;
    details.ParseFromString(status.error_details());
    return details;
  }

  // The audit records of directory changes, in order.
  static std::vector<std::string> DirectoryAuditOperations() {
    std::vector<std::string> operations;
    for (absl::string_view line : absl::StrSplit(fixtures::ReadFile(env_->AuditLogPath()), '\n')) {
      if (line.empty()) continue;
      absl::StatusOr<audit::v1::Entry> entry = audit::ParseEntryJson(line);
      if (entry.ok() && entry->has_record() &&
          absl::StrContains(entry->record().operation(), "CERTIFICATE")) {
        operations.push_back(
            absl::StrCat(entry->record().operation(), " ", entry->record().result()));
      }
    }
    return operations;
  }

  static fixtures::SignetdEnv* env_;
  static World* world_;
};

fixtures::SignetdEnv* SignetdDirectoryTest::env_ = nullptr;
World* SignetdDirectoryTest::world_ = nullptr;

TEST_F(SignetdDirectoryTest, AGpgsmSignedMailIsHarvestedAndMailToItsSenderIsOneGpgsmDecrypts) {
  // Nothing known about alice yet: encrypting to her address fails, naming her.
  fixtures::MailCallResult before = EncryptTo({"alice@example.org"});
  ASSERT_EQ(before.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(before.status.error_message(), HasSubstr("alice@example.org"));
  ASSERT_EQ(DetailsOf(before.status).unresolved_recipients_size(), 1);
  EXPECT_EQ(DetailsOf(before.status).unresolved_recipients(0).address(), "alice@example.org");

  // Alice writes, signed with gpgsm; VerifyMail trusts her chain and keeps
  // her certificate with the capabilities gpgsm advertised.
  ASSERT_OK_AND_ASSIGN(std::string signature,
                       world_->gpgsm->Sign(kCustomerEntity, world_->gpgsm_user.certificate.get(),
                                           /*detached=*/true));
  const std::string mail = absl::StrCat(
      "From: Alice <alice@example.org>\r\nTo: statements@bank.example\r\nSubject: Hello\r\n"
      "MIME-Version: 1.0\r\n",
      cms::MultipartSignedEntity(kCustomerEntity, signature, cms::DigestAlgorithm::kSha256));
  v1::VerifyMailRequest::Header verify;
  verify.set_require_trusted_chain(true);
  std::unique_ptr<v1::Mail::Stub> stub = MailStub();
  fixtures::MailCallResult verified =
      StreamMail<v1::VerifyMailRequest>(&v1::Mail::Stub::VerifyMail, *stub, verify, mail);
  ASSERT_TRUE(verified.status.ok()) << verified.status.error_message();
  EXPECT_THAT(verified.header.harvested(), ElementsAre("alice@example.org"));

  v1::LookupResponse found;
  ASSERT_TRUE(Lookup("Alice@Example.org", &found).ok());
  ASSERT_EQ(found.certificates_size(), 1);
  EXPECT_EQ(found.certificates(0).source(), "harvested");
  EXPECT_TRUE(found.certificates(0).from_capabilities());
  EXPECT_EQ(found.certificates(0).rsa_key_transport(), v1::RSA_PKCS1);
  EXPECT_THAT(found.certificates(0).cipher(), ::testing::AnyOf(v1::AES_256_CBC, v1::AES_128_CBC));

  // The statement to her address alone: gpgsm, which reads neither OAEP nor
  // GCM, opens it.
  fixtures::MailCallResult encrypted = EncryptTo({"alice@example.org"});
  ASSERT_TRUE(encrypted.status.ok()) << encrypted.status.error_message();
  ASSERT_EQ(encrypted.header.resolved_recipients_size(), 1);
  EXPECT_EQ(encrypted.header.resolved_recipients(0).source(), "harvested");
  ASSERT_OK_AND_ASSIGN(fixtures::SmimeParts parts, fixtures::SplitSmimeWithOpenssl(encrypted.body));
  ASSERT_OK_AND_ASSIGN(std::string opened, world_->gpgsm->Decrypt(parts.cms_der));
  EXPECT_THAT(opened, HasSubstr("Balance on 6 December"));
}

TEST_F(SignetdDirectoryTest, AnAddressOnlyInLdapIsFoundThereAfterADeadServer) {
  v1::LookupResponse found;
  ASSERT_TRUE(Lookup("carol@example.org", &found).ok());
  ASSERT_EQ(found.certificates_size(), 1);
  EXPECT_EQ(found.certificates(0).source(), absl::StrCat("ldap ", world_->slapd->url()));
  EXPECT_FALSE(found.certificates(0).from_capabilities());

  fixtures::MailCallResult encrypted = EncryptTo({"carol@example.org"});
  ASSERT_TRUE(encrypted.status.ok()) << encrypted.status.error_message();
  ASSERT_OK_AND_ASSIGN(std::string opened, fixtures::OpensslSmimeDecrypt(
                                               encrypted.body, world_->ldap_user.certificate_path,
                                               world_->ldap_user.key_path));
  EXPECT_THAT(opened, HasSubstr("Balance on 6 December"));
}

TEST_F(SignetdDirectoryTest, SmimeaAnswersOnlyWhenDnssecValidates) {
  v1::LookupResponse found;
  ASSERT_TRUE(Lookup("dave@example.net", &found).ok());
  ASSERT_EQ(found.certificates_size(), 1);
  EXPECT_EQ(found.certificates(0).source(), "smimea");
  fixtures::MailCallResult encrypted = EncryptTo({"dave@example.net"});
  ASSERT_TRUE(encrypted.status.ok()) << encrypted.status.error_message();
  ASSERT_OK_AND_ASSIGN(std::string opened, fixtures::OpensslSmimeDecrypt(
                                               encrypted.body, world_->dns_user.certificate_path,
                                               world_->dns_user.key_path));
  EXPECT_THAT(opened, HasSubstr("Balance on 6 December"));

  // The forged zone's record is there but does not validate: nothing.
  ASSERT_TRUE(Lookup("erin@forged.example", &found).ok());
  EXPECT_EQ(found.certificates_size(), 0);
  EXPECT_EQ(EncryptTo({"erin@forged.example"}).status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(SignetdDirectoryTest, UnknownAddressesFailPerRecipientOrAreSkippedWhenAsked) {
  fixtures::MailCallResult refused =
      EncryptTo({"carol@example.org", "nobody@example.org", "not an address"});
  ASSERT_EQ(refused.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  const v1::ErrorDetails details = DetailsOf(refused.status);
  ASSERT_EQ(details.unresolved_recipients_size(), 2);
  EXPECT_EQ(details.unresolved_recipients(0).address(), "nobody@example.org");
  EXPECT_THAT(details.unresolved_recipients(1).reason(), HasSubstr("not an e-mail address"));

  fixtures::MailCallResult skipped =
      EncryptTo({"carol@example.org", "nobody@example.org"}, /*skip_unresolved=*/true);
  ASSERT_TRUE(skipped.status.ok()) << skipped.status.error_message();
  ASSERT_EQ(skipped.header.resolved_recipients_size(), 1);
  EXPECT_EQ(skipped.header.resolved_recipients(0).address(), "carol@example.org");
  ASSERT_EQ(skipped.header.unresolved_recipients_size(), 1);
  EXPECT_EQ(skipped.header.unresolved_recipients(0).address(), "nobody@example.org");

  // Nothing left to encrypt to is an error even when skipping.
  fixtures::MailCallResult none = EncryptTo({"nobody@example.org"}, true);
  EXPECT_EQ(none.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(SignetdDirectoryTest, OperatorsPublishListAndRemoveAndEachChangeIsAudited) {
  auto stub = DirectoryStub();
  {
    grpc::ClientContext context;
    v1::PublishRequest request;
    request.set_certificate("this is not a certificate");
    v1::PublishResponse response;
    EXPECT_EQ(stub->Publish(&context, request, &response).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  v1::PublishResponse published;
  {
    grpc::ClientContext context;
    v1::PublishRequest request;
    ASSERT_OK_AND_ASSIGN(std::string pem, fixtures::ToPem(world_->published.certificate.get()));
    request.set_certificate(pem);
    grpc::Status status = stub->Publish(&context, request, &published);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(published.certificate().source(), "published");
  EXPECT_THAT(published.certificate().email_addresses(), ElementsAre("treasury@bank.example"));
  v1::LookupResponse found;
  ASSERT_TRUE(Lookup("treasury@bank.example", &found).ok());
  ASSERT_EQ(found.certificates_size(), 1);
  EXPECT_EQ(found.certificates(0).sha256(), published.certificate().sha256());
  {
    grpc::ClientContext context;
    v1::ListRequest request;
    request.set_address("treasury@bank.example");
    v1::ListResponse listed;
    ASSERT_TRUE(stub->List(&context, request, &listed).ok());
    ASSERT_EQ(listed.certificates_size(), 1);
    EXPECT_EQ(listed.certificates(0).sha256(), published.certificate().sha256());
  }
  // The public endpoint serves it, without credentials.
  ASSERT_OK_AND_ASSIGN(
      fixtures::CommandResult fetched,
      fixtures::RunCommandOk({"curl", "-sS", "-f",
                              absl::StrCat("http://127.0.0.1:", world_->public_port,
                                           "/certificates/treasury%40bank.example")}));
  ASSERT_OK_AND_ASSIGN(std::string pem, fixtures::ToPem(world_->published.certificate.get()));
  EXPECT_EQ(fetched.out, pem);
  {
    grpc::ClientContext context;
    v1::RemoveRequest request;
    request.set_sha256(published.certificate().sha256());
    v1::RemoveResponse removed;
    ASSERT_TRUE(stub->Remove(&context, request, &removed).ok());
  }
  ASSERT_TRUE(Lookup("treasury@bank.example", &found).ok());
  EXPECT_EQ(found.certificates_size(), 0);
  EXPECT_THAT(DirectoryAuditOperations(),
              ::testing::IsSupersetOf({"PUBLISH_CERTIFICATE INVALID_ARGUMENT",
                                       "PUBLISH_CERTIFICATE OK", "REMOVE_CERTIFICATE OK"}));
}

TEST_F(SignetdDirectoryTest, ThePublicEndpointNeverServesHarvestedOrForeignCertificates) {
  // Carol is in LDAP only, and no harvested or foreign address is published.
  for (const char* address : {"carol%40example.org", "nobody%40elsewhere.example"}) {
    ASSERT_OK_AND_ASSIGN(
        fixtures::CommandResult fetched,
        fixtures::RunCommand(
            {"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
             absl::StrCat("http://127.0.0.1:", world_->public_port, "/certificates/", address)}));
    EXPECT_EQ(fetched.out, "404") << address;
  }
}

TEST_F(SignetdDirectoryTest, LookingUpNeedsItsGrant) {
  auto clerk = v1::Directory::NewStub(fixtures::TlsChannel(*env_, "clerk"));
  grpc::ClientContext context;
  v1::LookupRequest request;
  request.set_address("carol@example.org");
  v1::LookupResponse response;
  EXPECT_EQ(clerk->Lookup(&context, request, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  auto clerk_mail = v1::Mail::NewStub(fixtures::TlsChannel(*env_, "clerk"));
  fixtures::MailCallResult encrypted = EncryptTo({"carol@example.org"}, false, clerk_mail.get());
  EXPECT_EQ(encrypted.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(SignetdDirectoryTest, EveryAcknowledgedPublishSurvivesAKillMinus9) {
  // Certificates to publish: distinct keys are not needed, distinct
  // certificates are.
  ASSERT_OK_AND_ASSIGN(EvpPkeyPtr key, fixtures::GenerateKey("EC:P-256"));
  std::vector<std::string> certificates;
  for (int i = 0; i < 400; ++i) {
    const std::string address = absl::StrCat("customer", i, "@example.org");
    ASSERT_OK_AND_ASSIGN(X509Ptr certificate,
                         world_->ca->Issue(key.get(), address, address, {.for_encryption = true}));
    ASSERT_OK_AND_ASSIGN(std::string der, fixtures::ToDer(certificate.get()));
    certificates.push_back(std::move(der));
  }
  std::mutex mutex;
  std::vector<std::string> acknowledged;
  std::thread publisher([&] {
    auto stub = DirectoryStub();
    for (const std::string& der : certificates) {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      v1::PublishRequest request;
      request.set_certificate(der);
      v1::PublishResponse response;
      if (!stub->Publish(&context, request, &response).ok()) return;
      std::lock_guard<std::mutex> lock(mutex);
      acknowledged.push_back(response.certificate().sha256());
    }
  });
  for (int waited = 0; waited < 2000; ++waited) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (acknowledged.size() >= 40) break;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_THAT(env_->Restart(SIGKILL), IsOk());
  publisher.join();
  ASSERT_GE(acknowledged.size(), 40u);
  ASSERT_LT(acknowledged.size(), certificates.size()) << "the kill came after the last Publish";

  ASSERT_OK_AND_ASSIGN(
      fixtures::CommandResult check,
      fixtures::RunCommandOk({"sqlite3", env_->File("directory.db"), "PRAGMA integrity_check"}));
  EXPECT_EQ(check.out, "ok\n");
  std::set<std::string> stored;
  auto stub = DirectoryStub();
  std::string page_token;
  do {
    grpc::ClientContext context;
    v1::ListRequest request;
    request.set_page_token(page_token);
    v1::ListResponse page;
    grpc::Status status = stub->List(&context, request, &page);
    ASSERT_TRUE(status.ok()) << status.error_message();
    for (const v1::DirectoryCertificate& one : page.certificates()) stored.insert(one.sha256());
    page_token = page.next_page_token();
  } while (!page_token.empty());
  for (const std::string& sha256 : acknowledged) EXPECT_TRUE(stored.count(sha256)) << sha256;
}

TEST_F(SignetdDirectoryTest, TheCliPublishesLooksUpAndEncryptsToAnAddress) {
  auto signet = [](std::vector<std::string> args) {
    args.insert(args.begin(), {SIGNET_PATH, "--socket", env_->socket()});
    absl::StatusOr<fixtures::CommandResult> result = fixtures::RunCommand(args);
    EXPECT_THAT(result, IsOk());
    return result.ok() ? *result : fixtures::CommandResult{};
  };
  fixtures::CommandResult published = signet({"publish", world_->published.certificate_path});
  ASSERT_EQ(published.exit_code, 0) << published.err;
  EXPECT_THAT(published.out, HasSubstr("treasury@bank.example"));

  fixtures::CommandResult looked_up =
      signet({"lookup", "treasury@bank.example", world_->dir.File("found.pem")});
  ASSERT_EQ(looked_up.exit_code, 0) << looked_up.err;
  EXPECT_THAT(looked_up.err, HasSubstr("published"));
  ASSERT_OK_AND_ASSIGN(std::string pem, fixtures::ToPem(world_->published.certificate.get()));
  EXPECT_EQ(fixtures::ReadFile(world_->dir.File("found.pem")), pem);

  fixtures::CommandResult missing = signet({"lookup", "nobody@example.org"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("nobody@example.org"));

  { std::ofstream(world_->dir.File("statement.eml")) << kStatement; }
  fixtures::CommandResult encrypted =
      signet({"encrypt", "--to", "treasury@bank.example", world_->dir.File("statement.eml"),
              world_->dir.File("statement.p7m.eml")});
  ASSERT_EQ(encrypted.exit_code, 0) << encrypted.err;
  EXPECT_THAT(encrypted.err, HasSubstr("to treasury@bank.example"));
  ASSERT_OK_AND_ASSIGN(std::string opened,
                       fixtures::OpensslSmimeDecrypt(
                           fixtures::ReadFile(world_->dir.File("statement.p7m.eml")),
                           world_->published.certificate_path, world_->published.key_path));
  EXPECT_THAT(opened, HasSubstr("Balance on 6 December"));

  fixtures::CommandResult zone = signet({"export-smimea"});
  ASSERT_EQ(zone.exit_code, 0) << zone.err;
  EXPECT_THAT(zone.out, HasSubstr("._smimecert.bank.example. 3600 IN SMIMEA 3 0 0 "));
  fixtures::CommandResult ldif =
      signet({"export-ldif", "--base-dn", "ou=people,dc=bank,dc=example"});
  ASSERT_EQ(ldif.exit_code, 0) << ldif.err;
  EXPECT_THAT(ldif.out, HasSubstr("dn: mail=treasury@bank.example,ou=people,dc=bank,dc=example"));
}

}  // namespace
}  // namespace signet
