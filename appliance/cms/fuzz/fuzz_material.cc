#include "appliance/cms/fuzz/fuzz_material.h"

#include <openssl/pem.h>

#include <cstdio>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/unique_fd.h"

namespace signet::cms::fuzz {
namespace {

absl::Status WriteCertificate(const std::string& path, X509* certificate) {
  UniqueFile file(std::fopen(path.c_str(), "w"));
  if (!file || PEM_write_X509(file.get(), certificate) != 1) {
    return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

absl::Status WriteKey(const std::string& path, EVP_PKEY* key) {
  UniqueFile file(std::fopen(path.c_str(), "w"));
  if (!file || PEM_write_PrivateKey(file.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<X509Ptr> ReadCertificate(const std::string& path) {
  UniqueFile file(std::fopen(path.c_str(), "r"));
  X509Ptr certificate(file ? PEM_read_X509(file.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!certificate) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  return certificate;
}

absl::StatusOr<EvpPkeyPtr> ReadKey(const std::string& path) {
  UniqueFile file(std::fopen(path.c_str(), "r"));
  EvpPkeyPtr key(file ? PEM_read_PrivateKey(file.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  return key;
}

}  // namespace

absl::Status SaveFuzzMaterial(const FuzzMaterial& material, const std::string& dir) {
  const struct {
    const char* name;
    EVP_PKEY* key;
    X509* certificate;
  } pairs[] = {{"signer", material.signer_key.get(), material.signer.get()},
               {"rsa-recipient", material.rsa_recipient_key.get(), material.rsa_recipient.get()},
               {"ec-recipient", material.ec_recipient_key.get(), material.ec_recipient.get()}};
  RETURN_IF_ERROR(WriteCertificate(dir + "/ca.pem", material.ca.get()));
  for (const auto& pair : pairs) {
    const std::string base = absl::StrCat(dir, "/", pair.name);
    if (absl::Status status = WriteKey(base + ".key", pair.key); !status.ok()) return status;
    RETURN_IF_ERROR(WriteCertificate(base + ".pem", pair.certificate));
  }
  return absl::OkStatus();
}

absl::StatusOr<FuzzMaterial> LoadFuzzMaterial(const std::string& dir) {
  FuzzMaterial material;
  ASSIGN_OR_RETURN(material.ca, ReadCertificate(dir + "/ca.pem"));
  const struct {
    const char* name;
    EvpPkeyPtr* key;
    X509Ptr* certificate;
  } pairs[] = {{"signer", &material.signer_key, &material.signer},
               {"rsa-recipient", &material.rsa_recipient_key, &material.rsa_recipient},
               {"ec-recipient", &material.ec_recipient_key, &material.ec_recipient}};
  for (const auto& pair : pairs) {
    const std::string base = absl::StrCat(dir, "/", pair.name);
    ASSIGN_OR_RETURN(*pair.key, ReadKey(base + ".key"));
    ASSIGN_OR_RETURN(*pair.certificate, ReadCertificate(base + ".pem"));
  }
  return material;
}

}  // namespace signet::cms::fuzz
