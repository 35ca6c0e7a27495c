#include "appliance/audit/testing.h"

#include <grp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "appliance/audit/chain.h"
#include "appliance/audit/entry_json.h"
#include "appliance/audit/input_digest.h"
#include "tests/fixtures/validity_margin.h"

namespace signet::audit::testing {
namespace {

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(size));
}

X509Ptr SelfSigned(EVP_PKEY* key) {
  X509Ptr certificate(X509_new());
  X509_set_version(certificate.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(certificate.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -fixtures::kValidityMarginSeconds);
  X509_gmtime_adj(X509_getm_notAfter(certificate.get()), 3600);
  X509_NAME* name = X509_get_subject_name(certificate.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Signet audit"), -1, -1, 0);
  X509_set_issuer_name(certificate.get(), name);
  X509_set_pubkey(certificate.get(), key);
  if (X509_sign(certificate.get(), key, EVP_sha256()) <= 0) std::abort();
  return certificate;
}

}  // namespace

EvpPkeyPtr NewRsaKey() {
  return EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
}
EvpPkeyPtr NewEcKey() { return EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")); }

EVP_PKEY* RsaKey() {
  static EVP_PKEY* key = NewRsaKey().release();
  return key;
}

EVP_PKEY* EcKey() {
  static EVP_PKEY* key = NewEcKey().release();
  return key;
}

std::unique_ptr<CheckpointSigner> SignerFor(EVP_PKEY* key) {
  absl::StatusOr<std::unique_ptr<CheckpointSigner>> signer = NewEvpCheckpointSigner(key);
  if (!signer.ok()) std::abort();
  return *std::move(signer);
}

std::string PublicKeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), key);
  return BioToString(bio.get());
}

std::string PublicKeyDer(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  int size = i2d_PUBKEY(key, &der);
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(size));
  OPENSSL_free(der);
  return out;
}

std::string PrivateKeyDer(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  int size = i2d_PrivateKey(key, &der);
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(size));
  OPENSSL_free(der);
  return out;
}

std::string CertificatePem(EVP_PKEY* key) {
  X509Ptr certificate = SelfSigned(key);
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), certificate.get());
  return BioToString(bio.get());
}

std::string CertificateDer(EVP_PKEY* key) {
  X509Ptr certificate = SelfSigned(key);
  unsigned char* der = nullptr;
  int size = i2d_X509(certificate.get(), &der);
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(size));
  OPENSSL_free(der);
  return out;
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "signet-audit-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) std::abort();
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  // A test may have left it read-only.
  std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::add, ignored);
  std::filesystem::remove_all(path_, ignored);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::vector<std::string> lines;
  std::istringstream in(ReadFile(path));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

void WriteLines(const std::string& path, const std::vector<std::string>& lines) {
  std::string contents;
  for (const std::string& line : lines) absl::StrAppend(&contents, line, "\n");
  WriteFile(path, contents);
}

AuditEvent TestEvent(int n) {
  AuditEvent event;
  event.caller = absl::StrCat("mx", n % 3);
  event.operation = n % 2 ? "SIGN_MAIL" : "DECRYPT_MAIL";
  event.key = "bank-signing";
  event.input_sha256 = InputDigest(absl::StrCat("mail number ", n));
  event.result = n % 5 == 4 ? absl::UnavailableError("C_Sign on token 'bank': CKR_DEVICE_ERROR")
                            : absl::OkStatus();
  return event;
}

std::vector<std::string> Rechain(const std::vector<std::string>& lines, bool fix_checkpoints) {
  std::vector<std::string> out;
  std::string hash;
  std::string log_id;
  uint64_t sequence = 0;
  for (const std::string& line : lines) {
    absl::StatusOr<v1::Entry> entry = ParseEntryJson(line);
    if (!entry.ok()) std::abort();
    if (entry->has_header() && log_id.empty()) {
      log_id = entry->header().log_id();
      hash = GenesisHash(log_id);
    }
    entry->set_sequence(sequence++);
    if (entry->has_checkpoint() && fix_checkpoints) {
      entry->mutable_checkpoint()->set_covered_sequence(entry->sequence() - 1);
      entry->mutable_checkpoint()->set_covered_chain_hash(hash);
    }
    entry->clear_chain_hash();
    hash = ChainHash(hash, *entry);
    entry->set_chain_hash(hash);
    absl::StatusOr<std::string> json = EntryToJsonLine(*entry);
    if (!json.ok()) std::abort();
    json->pop_back();
    out.push_back(*json);
  }
  return out;
}

int RunUnprivileged(const std::function<int()>& body) {
  if (geteuid() != 0) return body();
  pid_t child = fork();
  if (child == 0) {
    constexpr uid_t kNobody = 65534;
    if (setgroups(0, nullptr) != 0 || setgid(kNobody) != 0 || setuid(kNobody) != 0) _exit(120);
    _exit(body());
  }
  int status = 0;
  if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status)) return 121;
  return WEXITSTATUS(status);
}

}  // namespace signet::audit::testing
