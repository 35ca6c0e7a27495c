#include "tests/bench/baselines.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <fstream>
#include <sstream>

#include "tests/bench/libp11_signer.h"
#include "tests/bench/openssl_cli_signer.h"
#include "tests/bench/raw_pkcs11.h"
#include "tests/bench/thread_load.h"
#include "tests/fixtures/read_file.h"

namespace signet::bench {
namespace {

// SHA-256 DigestInfo prefix (RFC 8017, 9.2 note 1).
constexpr unsigned char kSha256DigestInfo[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                               0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                               0x01, 0x05, 0x00, 0x04, 0x20};

// A 32-byte key wrapped with RSA-OAEP-SHA256 to the certificate's key, as a
// CMS key transport carries it.
absl::StatusOr<std::string> OaepCiphertext(const std::string& certificate_pem) {
  BioPtr bio = ReadBio(certificate_pem);
  X509Ptr certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!certificate) return absl::InternalError("certificate");
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(X509_get0_pubkey(certificate.get()), nullptr));
  unsigned char secret[32];
  RAND_bytes(secret, sizeof(secret));
  std::string out(512, '\0');
  size_t length = out.size();
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), EVP_sha256()) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha256()) != 1 ||
      EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &length, secret,
                       sizeof(secret)) != 1) {
    return absl::InternalError("RSA-OAEP encryption");
  }
  out.resize(length);
  return out;
}

}  // namespace

absl::StatusOr<std::vector<LoadResult>> RunRaw(BenchTokens& tokens, const KeyUnderTest& key,
                                               bool decrypt, const std::vector<int>& concurrency,
                                               const Timing& timing, std::string* mechanism_used) {
  UseInstallation(tokens.HsmOf(key.token));
  absl::StatusOr<std::unique_ptr<RawModule>> module =
      RawModule::Open(fixtures::SoftHsm::ModulePath(), key.token, tokens.pin());
  if (!module.ok()) return module.status();
  std::string input;
  CK_RSA_PKCS_OAEP_PARAMS oaep{CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, nullptr, 0};
  CK_MECHANISM mechanism{CKM_ECDSA, nullptr, 0};
  std::string digest(32, '\x5a');
  if (decrypt) {
    absl::StatusOr<std::string> ciphertext =
        OaepCiphertext(fixtures::ReadFile(tokens.CertificatePath(key.token, key.label)));
    if (!ciphertext.ok()) return ciphertext.status();
    input = *ciphertext;
    mechanism = CK_MECHANISM{CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep)};
    // Probe once: SoftHSM 2.6 does OAEP with SHA-1 only.
    absl::StatusOr<std::unique_ptr<RawSession>> probe = (*module)->OpenSession();
    if (!probe.ok()) return probe.status();
    absl::StatusOr<CK_OBJECT_HANDLE> handle = (*probe)->FindPrivateKey(key.label);
    if (!handle.ok()) return handle.status();
    std::string output(512, '\0');
    if (!(*probe)->Run(RawOperation::kDecrypt, mechanism, *handle, input, output).ok()) {
      mechanism = CK_MECHANISM{CKM_RSA_X_509, nullptr, 0};
    }
    if (mechanism_used != nullptr) {
      *mechanism_used =
          mechanism.mechanism == CKM_RSA_X_509 ? "CKM_RSA_X_509" : "CKM_RSA_PKCS_OAEP";
    }
  } else if (key.algorithm.rfind("RSA", 0) == 0) {
    input.assign(reinterpret_cast<const char*>(kSha256DigestInfo), sizeof(kSha256DigestInfo));
    input += digest;
    mechanism = CK_MECHANISM{CKM_RSA_PKCS, nullptr, 0};
  } else {
    input = digest;
  }
  std::vector<LoadResult> results;
  for (int workers : concurrency) {
    absl::StatusOr<LoadResult> result =
        RunThreads(workers, timing, [&](int) -> absl::StatusOr<Operation> {
          absl::StatusOr<std::unique_ptr<RawSession>> opened = (*module)->OpenSession();
          if (!opened.ok()) return opened.status();
          std::shared_ptr<RawSession> session = std::move(*opened);
          absl::StatusOr<CK_OBJECT_HANDLE> handle = session->FindPrivateKey(key.label);
          if (!handle.ok()) return handle.status();
          auto output = std::make_shared<std::string>(512, '\0');
          CK_MECHANISM mine = mechanism;
          return Operation([session, output, mine, handle = *handle, &input, decrypt]() mutable {
            return session->Run(decrypt ? RawOperation::kDecrypt : RawOperation::kSign, mine,
                                handle, input, *output);
          });
        });
    if (!result.ok()) return result.status();
    results.push_back(std::move(*result));
  }
  return results;
}

absl::StatusOr<std::vector<LoadResult>> RunLibp11(BenchTokens& tokens, const KeyUnderTest& key,
                                                  const std::string& mail,
                                                  const std::vector<int>& concurrency,
                                                  const Timing& timing) {
  UseInstallation(tokens.HsmOf(key.token));
  absl::StatusOr<std::unique_ptr<Libp11Signer>> signer =
      Libp11Signer::Open(fixtures::SoftHsm::ModulePath(), key.token, tokens.pin(), key.label,
                         fixtures::ReadFile(tokens.CertificatePath(key.token, key.label)));
  if (!signer.ok()) return signer.status();
  std::vector<LoadResult> results;
  for (int workers : concurrency) {
    absl::StatusOr<LoadResult> result =
        RunThreads(workers, timing, [&](int) -> absl::StatusOr<Operation> {
          return Operation([&]() { return (*signer)->Sign(mail).status(); });
        });
    if (!result.ok()) return result.status();
    results.push_back(std::move(*result));
  }
  return results;
}

absl::StatusOr<std::vector<LoadResult>> RunOpensslCli(BenchTokens& tokens, const KeyUnderTest& key,
                                                      const std::string& mail_path,
                                                      const std::vector<int>& concurrency,
                                                      const Timing& timing) {
  const OpensslCliSigner signer{.module_path = fixtures::SoftHsm::ModulePath(),
                                .token_label = key.token,
                                .key_label = key.label,
                                .pin = tokens.pin(),
                                .certificate_path = tokens.CertificatePath(key.token, key.label),
                                .mail_path = mail_path,
                                .environment = {tokens.HsmOf(key.token).EnvVar()}};
  std::vector<LoadResult> results;
  for (int workers : concurrency) {
    absl::StatusOr<LoadResult> result =
        RunThreads(workers, timing, [&](int) -> absl::StatusOr<Operation> {
          return Operation([&]() { return signer.SignOnce(); });
        });
    if (!result.ok()) return result.status();
    results.push_back(std::move(*result));
  }
  return results;
}

}  // namespace signet::bench
