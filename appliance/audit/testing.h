// Test helpers for the audit log: software audit keys (nothing committed),
// scratch directories, and a forger that rewrites a log's sequence numbers
// and chain hashes the way an attacker without the audit key could.
#ifndef SIGNET_APPLIANCE_AUDIT_TESTING_H_
#define SIGNET_APPLIANCE_AUDIT_TESTING_H_

#include <openssl/evp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "appliance/audit/audit_event.h"
#include "appliance/audit/checkpoint_signer.h"
#include "common/openssl_error.h"
#include "common/ossl_ptr.h"

namespace signet::audit::testing {

// One RSA-2048 and one EC P-256 key per test process, made on first use.
EVP_PKEY* RsaKey();
EVP_PKEY* EcKey();
// A fresh key each call.
EvpPkeyPtr NewRsaKey();
EvpPkeyPtr NewEcKey();

std::unique_ptr<CheckpointSigner> SignerFor(EVP_PKEY* key);

std::string PublicKeyPem(EVP_PKEY* key);
std::string PublicKeyDer(EVP_PKEY* key);
std::string PrivateKeyDer(EVP_PKEY* key);
// A self-signed certificate for `key`.
std::string CertificatePem(EVP_PKEY* key);
std::string CertificateDer(EVP_PKEY* key);

// A directory removed with everything in it at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& contents);
// Lines without their '\n'; the file must end with one.
std::vector<std::string> ReadLines(const std::string& path);
void WriteLines(const std::string& path, const std::vector<std::string>& lines);

// An event as the daemon would log it, numbered so records can be told apart.
AuditEvent TestEvent(int n);

// The lines renumbered 0, 1, 2, ... and re-chained from the header's log id,
// each checkpoint made to cover the entry before it unless told otherwise
// (its signature kept): what someone who can write the file but has no
// audit key can do.
std::vector<std::string> Rechain(const std::vector<std::string>& lines,
                                 bool fix_checkpoints = true);

// Runs `body` in a child process as the unprivileged user nobody when the
// tests run as root (root ignores file modes), as is otherwise; returns its
// exit status.
int RunUnprivileged(const std::function<int()>& body);

}  // namespace signet::audit::testing

#endif  // SIGNET_APPLIANCE_AUDIT_TESTING_H_
