// The authorization matrix (issue #5): signetd as a separate process, a
// policy of several callers, and every caller x key x operation called over
// gRPC. The config's callers are written from the table below, and what each
// call must answer is worked out from the same table by the rules of
// docs/operations.md ("Callers and grants"), never from the server:
//  - a grant of an operation on a key, or on "*" where the operation suits
//    the key's purpose, allows it; nothing else does (default deny);
//  - ENCRYPT_MAIL and VERIFY_MAIL use no key: any grant of them allows them;
//  - a caller whose certificate no caller entry names may do nothing.
// Allowed calls get OK (or the error their deliberately bad input earns),
// denied calls PERMISSION_DENIED. docs/api.md's error table adds two cases:
// a "*" grant reaching a key of the wrong purpose is INVALID_ARGUMENT (a key
// of the wrong purpose), and a "*" grant naming a key that does not exist is
// NOT_FOUND; without such a grant both are PERMISSION_DENIED.
#include <grpcpp/grpcpp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signet/config/v1/config.pb.h"
#include "signet/v1/keys.grpc.pb.h"
#include "signet/v1/mail.grpc.pb.h"
#include "tests/fixtures/read_file.h"
#include "tests/fixtures/signetd_channels.h"
#include "tests/fixtures/signetd_env.h"
#include "tests/fixtures/status_matchers.h"
#include "tests/fixtures/test_pki.h"

namespace signet {
namespace {

using ::signet::matchers::IsOk;

using config::v1::Operation;
using grpc::StatusCode;

// ---------------------------------------------------------------------------
// The policy.

enum class Purpose { kSign, kDecrypt, kNone };

struct KeySpec {
  std::string name;
  Purpose purpose;
};

// SignetdEnv's keys, and one the config does not have.
const std::vector<KeySpec>& Keys() {
  static const auto* keys = new std::vector<KeySpec>{
      {"bank-signing", Purpose::kSign}, {"bank-decryption", Purpose::kDecrypt},
      {"audit", Purpose::kSign},        {"other-signing", Purpose::kSign},
      {"no-such-key", Purpose::kNone},
  };
  return *keys;
}

struct GrantSpec {
  std::vector<std::string> keys;  // empty: operations that use no key
  std::vector<Operation> operations;
};

enum class Transport { kUnix, kTls };

struct CallerSpec {
  // The caller's name in the config; also its client certificate's CN.
  std::string name;
  Transport transport;
  // The config's identity line ("" for a certificate no caller names).
  std::string identity;
  std::vector<GrantSpec> grants;
};

const std::vector<CallerSpec>& Callers() {
  using config::v1::ADMINISTER_KEYS;
  using config::v1::DECRYPT_MAIL;
  using config::v1::ENCRYPT_MAIL;
  using config::v1::READ_KEYS;
  using config::v1::SIGN_DIGEST;
  using config::v1::SIGN_MAIL;
  using config::v1::VERIFY_MAIL;
  static const auto* callers = new std::vector<CallerSpec>{
      // The local mail system on the unix socket: the bank's whole outbound
      // and inbound flow, reading every key, administering one.
      {"local-gateway",
       Transport::kUnix,
       "unix_uid: $UID",
       {{{"bank-signing"}, {SIGN_MAIL}},
        {{"other-signing"}, {SIGN_DIGEST}},
        {{"bank-decryption"}, {DECRYPT_MAIL}},
        {{}, {ENCRYPT_MAIL, VERIFY_MAIL}},
        {{"*"}, {READ_KEYS}},
        {{"bank-signing"}, {ADMINISTER_KEYS}}}},
      // An outbound gateway by certificate subject: signs with one key,
      // encrypts, reads two keys by name.
      {"mx-out",
       Transport::kTls,
       "certificate_subject: \"CN=mx-out\"",
       {{{"other-signing"}, {SIGN_MAIL}},
        {{}, {ENCRYPT_MAIL}},
        {{"bank-signing", "other-signing"}, {READ_KEYS}}}},
      // An inbound gateway by subjectAltName: decrypts with any decryption
      // key ("*" covers only the keys DECRYPT_MAIL suits) and verifies.
      {"mx-in",
       Transport::kTls,
       "certificate_san: \"mx-in@clients.bank.example\"",
       {{{"*"}, {DECRYPT_MAIL}}, {{}, {VERIFY_MAIL}}}},
      // An operator: administers and reads every key, signs digests with
      // the unbound signing key (a sender-bound key signs no digests).
      {"operator",
       Transport::kTls,
       "certificate_subject: \"CN=operator\"",
       {{{"*"}, {ADMINISTER_KEYS, READ_KEYS}}, {{"other-signing"}, {SIGN_DIGEST}}}},
      // A certificate from the right CA that no caller entry names.
      {"unknown", Transport::kTls, "", {}},
  };
  return *callers;
}

std::string CallersConfig() {
  std::string text;
  for (const CallerSpec& caller : Callers()) {
    if (caller.identity.empty()) continue;
    absl::StrAppend(&text, "callers {\n  name: \"", caller.name, "\"\n  ", caller.identity, "\n");
    for (const GrantSpec& grant : caller.grants) {
      absl::StrAppend(&text, "  grants {");
      for (const std::string& key : grant.keys) absl::StrAppend(&text, " keys: \"", key, "\"");
      for (Operation operation : grant.operations) {
        absl::StrAppend(&text, " operations: ", config::v1::Operation_Name(operation));
      }
      absl::StrAppend(&text, " }\n");
    }
    absl::StrAppend(&text, "}\n");
  }
  return text;
}

// Which keys an operation suits (docs/operations.md).
bool Suits(Operation operation, Purpose purpose) {
  switch (operation) {
    case config::v1::SIGN_MAIL:
    case config::v1::SIGN_DIGEST:
      return purpose == Purpose::kSign;
    case config::v1::DECRYPT_MAIL:
      return purpose == Purpose::kDecrypt;
    default:
      return purpose != Purpose::kNone;
  }
}

// How the policy answers `operation` by `caller` on `key`.
enum class Verdict {
  kAllowed,
  kDenied,
  kWrongPurpose,  // only "*" covers the key, and the operation does not suit it
  kNoSuchKey,     // only "*" covers the name, and there is no such key
};

Verdict Decide(const CallerSpec& caller, Operation operation, const KeySpec& key) {
  bool wildcard = false;
  for (const GrantSpec& grant : caller.grants) {
    if (std::find(grant.operations.begin(), grant.operations.end(), operation) ==
        grant.operations.end()) {
      continue;
    }
    for (const std::string& granted : grant.keys) {
      if (granted == key.name) return Verdict::kAllowed;
      if (granted == "*") wildcard = true;
    }
  }
  if (!wildcard) return Verdict::kDenied;
  if (key.purpose == Purpose::kNone) return Verdict::kNoSuchKey;
  return Suits(operation, key.purpose) ? Verdict::kAllowed : Verdict::kWrongPurpose;
}

// Operations that use no key, and ListKeys and ListTokens: any grant of the
// operation.
bool HasOperation(const CallerSpec& caller, Operation operation) {
  for (const GrantSpec& grant : caller.grants) {
    if (std::find(grant.operations.begin(), grant.operations.end(), operation) !=
        grant.operations.end()) {
      return true;
    }
  }
  return false;
}

// GenerateKey: ADMINISTER_KEYS on every key ("*"), since the new key is in
// no grant yet.
bool HasOperationOnEveryKey(const CallerSpec& caller, Operation operation) {
  for (const GrantSpec& grant : caller.grants) {
    if (std::find(grant.operations.begin(), grant.operations.end(), operation) !=
            grant.operations.end() &&
        std::find(grant.keys.begin(), grant.keys.end(), "*") != grant.keys.end()) {
      return true;
    }
  }
  return false;
}

// The status a key call must get: `allowed` is what the call answers when
// the policy allows it.
StatusCode ExpectedFor(Verdict verdict, StatusCode allowed) {
  switch (verdict) {
    case Verdict::kAllowed:
      return allowed;
    case Verdict::kDenied:
      return StatusCode::PERMISSION_DENIED;
    case Verdict::kWrongPurpose:
      return StatusCode::INVALID_ARGUMENT;
    case Verdict::kNoSuchKey:
      return StatusCode::NOT_FOUND;
  }
  return StatusCode::UNKNOWN;
}

// ---------------------------------------------------------------------------
// The calls.

constexpr char kMail[] =
    "From: statements@bank.example\r\n"
    "To: customer@example.org\r\n"
    "Subject: Statement\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "Balance: 1,234.56 EUR.\r\n";

using fixtures::ReadFile;

std::string DerOfPemCertificate(const std::string& path) {
  const std::string pem = ReadFile(path);
  BioPtr bio = ReadBio(pem);
  X509Ptr certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!certificate) return "";
  absl::StatusOr<std::string> der = fixtures::ToDer(certificate.get());
  return der.ok() ? *der : "";
}

void SetDeadline(grpc::ClientContext& context) {
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
}

// One streamed mail call: the header, the mail in one chunk, the output.
template <typename Request, typename Stream>
grpc::Status StreamMail(Stream& stream, const Request& header, const std::string& mail,
                        std::string* output) {
  stream.Write(header);
  Request chunk;
  chunk.set_chunk(mail);
  stream.Write(chunk);
  stream.WritesDone();
  v1::MailResponse response;
  while (stream.Read(&response)) {
    if (response.has_chunk() && output != nullptr) output->append(response.chunk());
  }
  return stream.Finish();
}

class Client {
 public:
  explicit Client(std::shared_ptr<grpc::Channel> channel)
      : mail_(v1::Mail::NewStub(channel)), keys_(v1::Keys::NewStub(channel)) {}

  grpc::Status SignMail(const std::string& key, std::string* output = nullptr) {
    grpc::ClientContext context;
    SetDeadline(context);
    auto stream = mail_->SignMail(&context);
    v1::SignMailRequest header;
    header.mutable_header()->set_key(key);
    return StreamMail(*stream, header, kMail, output);
  }
  grpc::Status SignAndEncryptMail(const std::string& key, const std::string& recipient_der) {
    grpc::ClientContext context;
    SetDeadline(context);
    auto stream = mail_->SignAndEncryptMail(&context);
    v1::SignAndEncryptMailRequest header;
    header.mutable_header()->set_signing_key(key);
    header.mutable_header()->mutable_encrypt()->add_recipient_certificates(recipient_der);
    return StreamMail(*stream, header, kMail, nullptr);
  }
  grpc::Status EncryptMail(const std::string& recipient_der, std::string* output = nullptr) {
    grpc::ClientContext context;
    SetDeadline(context);
    auto stream = mail_->EncryptMail(&context);
    v1::EncryptMailRequest header;
    header.mutable_header()->mutable_options()->add_recipient_certificates(recipient_der);
    return StreamMail(*stream, header, kMail, output);
  }
  grpc::Status DecryptMail(const std::string& key, const std::string& mail) {
    grpc::ClientContext context;
    SetDeadline(context);
    auto stream = mail_->DecryptMail(&context);
    v1::DecryptMailRequest header;
    header.mutable_header()->set_key(key);
    return StreamMail(*stream, header, mail, nullptr);
  }
  grpc::Status VerifyMail(const std::string& mail) {
    grpc::ClientContext context;
    SetDeadline(context);
    auto stream = mail_->VerifyMail(&context);
    v1::VerifyMailRequest header;
    header.mutable_header()->set_require_trusted_chain(true);
    return StreamMail(*stream, header, mail, nullptr);
  }
  grpc::Status SignDigest(const std::string& key) {
    grpc::ClientContext context;
    SetDeadline(context);
    v1::SignDigestRequest request;
    request.set_key(key);
    request.set_digest_algorithm(v1::SHA256);
    request.set_digest(std::string(32, '\x5a'));
    v1::SignDigestResponse response;
    return mail_->SignDigest(&context, request, &response);
  }
  grpc::Status GetKey(const std::string& key) {
    grpc::ClientContext context;
    SetDeadline(context);
    v1::GetKeyRequest request;
    request.set_name(key);
    v1::Key response;
    return keys_->GetKey(&context, request, &response);
  }
  grpc::Status ListKeys(std::vector<std::string>* names = nullptr) {
    grpc::ClientContext context;
    SetDeadline(context);
    v1::ListKeysResponse response;
    grpc::Status status = keys_->ListKeys(&context, v1::ListKeysRequest(), &response);
    for (const v1::Key& key : response.keys()) {
      if (names != nullptr) names->push_back(key.name());
    }
    return status;
  }
  grpc::Status ListTokens() {
    grpc::ClientContext context;
    SetDeadline(context);
    v1::ListTokensResponse response;
    return keys_->ListTokens(&context, v1::ListTokensRequest(), &response);
  }
  grpc::Status CreateCsr(const std::string& key) {
    grpc::ClientContext context;
    SetDeadline(context);
    v1::CreateCsrRequest request;
    request.set_key(key);
    request.set_subject("CN=Bank statements,O=Bank");
    v1::CreateCsrResponse response;
    return keys_->CreateCsr(&context, request, &response);
  }
  // A certificate that is not DER: refused after authorization, before the
  // token is touched, so that the matrix changes nothing on the token.
  grpc::Status ImportGarbageCertificate(const std::string& key) {
    grpc::ClientContext context;
    SetDeadline(context);
    v1::ImportCertificateRequest request;
    request.set_key(key);
    request.set_certificate("not a certificate");
    v1::Key response;
    return keys_->ImportCertificate(&context, request, &response);
  }
  // A request without an algorithm: refused after authorization, so that no
  // key is generated.
  grpc::Status GenerateIncompleteKey() {
    grpc::ClientContext context;
    SetDeadline(context);
    v1::GenerateKeyRequest request;
    request.set_token("bank-hsm");
    request.set_label("matrix");
    v1::GeneratedKey response;
    return keys_->GenerateKey(&context, request, &response);
  }

 private:
  std::unique_ptr<v1::Mail::Stub> mail_;
  std::unique_ptr<v1::Keys::Stub> keys_;
};

// ---------------------------------------------------------------------------
// The suite: one daemon, one channel per caller.

class SignetdAuthzTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::vector<std::string> certificates;
    for (const CallerSpec& caller : Callers()) {
      if (caller.transport == Transport::kTls) certificates.push_back(caller.name);
    }
    absl::StatusOr<std::unique_ptr<fixtures::SignetdEnv>> env =
        fixtures::SignetdEnv::Start({.signetd_path = SIGNETD_PATH,
                                     .callers = CallersConfig(),
                                     .tcp = true,
                                     .client_names = certificates});
    ASSERT_THAT(env, IsOk());
    env_ = env->release();
    recipient_der_ = new std::string(DerOfPemCertificate(env_->File("decryption.pem")));
    ASSERT_FALSE(recipient_der_->empty());

    // Inputs that the allowed calls can succeed on: a mail signed with
    // bank-signing (to verify) and one encrypted to bank-decryption.
    Client& gateway = ClientOf(Callers()[0]);
    signed_mail_ = new std::string();
    grpc::Status signed_status = gateway.SignMail("bank-signing", signed_mail_);
    ASSERT_THAT(signed_status, IsOk());
    encrypted_mail_ = new std::string();
    grpc::Status encrypted_status = gateway.EncryptMail(*recipient_der_, encrypted_mail_);
    ASSERT_THAT(encrypted_status, IsOk());
  }

  static void TearDownTestSuite() {
    for (auto& [name, client] : *clients_) delete client;
    clients_->clear();
    delete env_;
    env_ = nullptr;
    delete recipient_der_;
    delete signed_mail_;
    delete encrypted_mail_;
  }

  static Client& ClientOf(const CallerSpec& caller) {
    Client*& client = (*clients_)[caller.name];
    if (client != nullptr) return *client;
    if (caller.transport == Transport::kUnix) {
      client = new Client(fixtures::UnixChannel(*env_));
      return *client;
    }
    client = new Client(fixtures::TlsChannel(*env_, caller.name));
    return *client;
  }

  static fixtures::SignetdEnv* env_;
  static std::map<std::string, Client*>* clients_;
  static std::string* recipient_der_;
  static std::string* signed_mail_;
  static std::string* encrypted_mail_;
};

fixtures::SignetdEnv* SignetdAuthzTest::env_ = nullptr;
std::map<std::string, Client*>* SignetdAuthzTest::clients_ = new std::map<std::string, Client*>();
std::string* SignetdAuthzTest::recipient_der_ = nullptr;
std::string* SignetdAuthzTest::signed_mail_ = nullptr;
std::string* SignetdAuthzTest::encrypted_mail_ = nullptr;

const char* CodeName(StatusCode code) {
  switch (code) {
    case StatusCode::OK:
      return "OK";
    case StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    default:
      return "another code";
  }
}

std::string Describe(const grpc::Status& status) {
  return absl::StrCat(CodeName(status.error_code()), " (", status.error_code(), ") \"",
                      status.error_message(), "\"");
}

// Checks one cell and keeps count of what the matrix covered.
struct Matrix {
  int cells = 0;
  int allowed = 0;
  int denied = 0;

  void Check(const CallerSpec& caller, absl::string_view call, const std::string& key,
             StatusCode expected, const grpc::Status& actual) {
    ++cells;
    if (expected == StatusCode::PERMISSION_DENIED) {
      ++denied;
    } else {
      ++allowed;
    }
    EXPECT_TRUE(actual.error_code() == expected)
        << caller.name << " " << call << (key.empty() ? "" : " with key ") << key << ": expected "
        << CodeName(expected) << ", got " << Describe(actual);
  }
};

TEST_F(SignetdAuthzTest, EveryCallerKeyAndOperationIsAllowedExactlyWherePolicySays) {
  Matrix matrix;
  for (const CallerSpec& caller : Callers()) {
    SCOPED_TRACE(caller.name);
    Client& client = ClientOf(caller);
    for (const KeySpec& key : Keys()) {
      auto verdict = [&](Operation operation) { return Decide(caller, operation, key); };
      // SIGN_MAIL: the mail's From is the one bank-signing is bound to.
      matrix.Check(caller, "SignMail", key.name,
                   ExpectedFor(verdict(config::v1::SIGN_MAIL), StatusCode::OK),
                   client.SignMail(key.name));
      matrix.Check(caller, "SignDigest", key.name,
                   ExpectedFor(verdict(config::v1::SIGN_DIGEST), StatusCode::OK),
                   client.SignDigest(key.name));
      matrix.Check(caller, "DecryptMail", key.name,
                   ExpectedFor(verdict(config::v1::DECRYPT_MAIL), StatusCode::OK),
                   client.DecryptMail(key.name, *encrypted_mail_));
      // SignAndEncryptMail needs SIGN_MAIL on the key, then ENCRYPT_MAIL.
      StatusCode sign_and_encrypt = ExpectedFor(verdict(config::v1::SIGN_MAIL), StatusCode::OK);
      if (sign_and_encrypt == StatusCode::OK && !HasOperation(caller, config::v1::ENCRYPT_MAIL)) {
        sign_and_encrypt = StatusCode::PERMISSION_DENIED;
      }
      matrix.Check(caller, "SignAndEncryptMail", key.name, sign_and_encrypt,
                   client.SignAndEncryptMail(key.name, *recipient_der_));
      matrix.Check(caller, "GetKey", key.name,
                   ExpectedFor(verdict(config::v1::READ_KEYS), StatusCode::OK),
                   client.GetKey(key.name));
      // A decryption key does not sign its own certificate request.
      matrix.Check(caller, "CreateCsr", key.name,
                   ExpectedFor(verdict(config::v1::ADMINISTER_KEYS),
                               key.purpose == Purpose::kDecrypt ? StatusCode::FAILED_PRECONDITION
                                                                : StatusCode::OK),
                   client.CreateCsr(key.name));
      matrix.Check(caller, "ImportCertificate", key.name,
                   ExpectedFor(verdict(config::v1::ADMINISTER_KEYS), StatusCode::INVALID_ARGUMENT),
                   client.ImportGarbageCertificate(key.name));
    }
    auto any = [&](Operation operation, StatusCode allowed) {
      return HasOperation(caller, operation) ? allowed : StatusCode::PERMISSION_DENIED;
    };
    matrix.Check(caller, "EncryptMail", "", any(config::v1::ENCRYPT_MAIL, StatusCode::OK),
                 client.EncryptMail(*recipient_der_));
    matrix.Check(caller, "VerifyMail", "", any(config::v1::VERIFY_MAIL, StatusCode::OK),
                 client.VerifyMail(*signed_mail_));
    // Listings: a READ_KEYS grant on any key allows them (ListKeys then
    // lists only the keys read by name; see below). GenerateKey: only
    // ADMINISTER_KEYS on "*".
    matrix.Check(caller, "ListKeys", "", any(config::v1::READ_KEYS, StatusCode::OK),
                 client.ListKeys());
    matrix.Check(caller, "ListTokens", "", any(config::v1::READ_KEYS, StatusCode::OK),
                 client.ListTokens());
    matrix.Check(caller, "GenerateKey", "",
                 HasOperationOnEveryKey(caller, config::v1::ADMINISTER_KEYS)
                     ? StatusCode::INVALID_ARGUMENT
                     : StatusCode::PERMISSION_DENIED,
                 client.GenerateIncompleteKey());
  }
  // 5 callers x (5 keys x 7 key calls + 5 appliance calls).
  EXPECT_EQ(matrix.cells, 5 * (5 * 7 + 5));
  // The policy is not trivial either way.
  EXPECT_GE(matrix.allowed, 30);
  EXPECT_GE(matrix.denied, 100);
}

// ListKeys lists exactly the keys the caller may read by name (GetKey), so
// a grant on one key does not show the others.
TEST_F(SignetdAuthzTest, ListKeysListsOnlyTheKeysTheCallerMayRead) {
  int partial = 0;
  for (const CallerSpec& caller : Callers()) {
    if (!HasOperation(caller, config::v1::READ_KEYS)) continue;
    SCOPED_TRACE(caller.name);
    std::vector<std::string> readable;
    for (const KeySpec& key : Keys()) {
      if (key.purpose != Purpose::kNone &&
          Decide(caller, config::v1::READ_KEYS, key) == Verdict::kAllowed) {
        readable.push_back(key.name);
      }
    }
    std::vector<std::string> listed;
    grpc::Status status = ClientOf(caller).ListKeys(&listed);
    ASSERT_THAT(status, IsOk()) << Describe(status);
    EXPECT_THAT(listed, ::testing::UnorderedElementsAreArray(readable));
    if (readable.size() + 1 < Keys().size()) ++partial;
  }
  // At least one caller reads only some keys, or the test shows nothing.
  EXPECT_GE(partial, 1);
}

// Denials name the caller, the operation and the key, and say nothing of
// whether the key exists.
TEST_F(SignetdAuthzTest, DenialsLookTheSameForExistingAndMissingKeys) {
  Client& mx_out = ClientOf(Callers()[1]);
  grpc::Status existing = mx_out.DecryptMail("bank-decryption", *encrypted_mail_);
  grpc::Status missing = mx_out.DecryptMail("no-such-key", *encrypted_mail_);
  ASSERT_EQ(existing.error_code(), StatusCode::PERMISSION_DENIED) << Describe(existing);
  ASSERT_EQ(missing.error_code(), StatusCode::PERMISSION_DENIED) << Describe(missing);
  EXPECT_THAT(existing.error_message(), ::testing::HasSubstr("mx-out"));
  EXPECT_THAT(existing.error_message(), ::testing::HasSubstr("DECRYPT_MAIL"));
  EXPECT_EQ(absl::StrReplaceAll(existing.error_message(), {{"bank-decryption", "K"}}),
            absl::StrReplaceAll(missing.error_message(), {{"no-such-key", "K"}}));
}

}  // namespace
}  // namespace signet
