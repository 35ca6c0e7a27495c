#include "appliance/server/directory_service.h"

#include <openssl/err.h>

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "appliance/directory/email_address.h"
#include "appliance/server/audited.h"
#include "appliance/server/certificate_directory.h"
#include "appliance/server/unary_call.h"
#include "common/der.h"
#include "common/ossl_ptr.h"
#include "common/pem_certificates.h"
#include "common/status_macros.h"

namespace signet::server {
namespace {

// The largest certificate Publish takes (a certificate is a few KiB; the
// 1,000-address kind is refused by the store anyway).
constexpr size_t kMaxCertificateBytes = 64 << 10;
constexpr uint32_t kMaxListPage = 1000;

absl::StatusOr<CertificateDirectory*> DirectoryOf(Appliance& appliance) {
  if (appliance.directory() == nullptr) {
    return absl::FailedPreconditionError(
        "no certificate directory is configured (directory.store_path)");
  }
  return appliance.directory();
}

// DER as sent, or the first certificate of PEM text.
absl::StatusOr<std::string> CertificateDer(const std::string& bytes) {
  if (bytes.size() > kMaxCertificateBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the certificate is larger than ", kMaxCertificateBytes, " bytes"));
  }
  if (!absl::StrContains(bytes, "-----BEGIN")) return bytes;
  ASSIGN_OR_RETURN(std::vector<X509Ptr> certificates, ParsePemCertificates(bytes));
  std::string der = DerOf<X509, i2d_X509>(certificates.front().get());
  if (der.empty()) return absl::InvalidArgumentError("the certificate cannot be encoded");
  return der;
}

absl::StatusOr<std::string> FingerprintBytes(absl::string_view sha256_hex) {
  if (sha256_hex.size() != 64 || !std::all_of(sha256_hex.begin(), sha256_hex.end(), [](char c) {
        return absl::ascii_isxdigit(static_cast<unsigned char>(c));
      })) {
    return absl::InvalidArgumentError("sha256 must be 64 hex digits");
  }
  return absl::HexStringToBytes(sha256_hex);
}

}  // namespace

grpc::ServerUnaryReactor* DirectoryService::Lookup(grpc::CallbackServerContext* context,
                                                   const v1::LookupRequest* request,
                                                   v1::LookupResponse* response) {
  const UnaryCall call = StartCall(context, "Lookup", *request, *response);
  absl::StatusOr<std::string> caller =
      Allowed(call, appliance_, "", config::v1::LOOKUP_CERTIFICATES);
  if (!caller.ok()) return Refuse(call, caller.status());
  absl::StatusOr<CertificateDirectory*> directory = DirectoryOf(appliance_);
  if (!directory.ok()) return Refuse(call, directory.status());
  return RunOn(call, (*directory)->queue(), "",
               [directory = *directory, address = request->address(), response] {
                 ASSIGN_OR_RETURN(directory::LookupResult found, directory->Lookup(address));
                 response->set_address(found.address);
                 for (const directory::UsableCertificate& usable : found.certificates) {
                   *response->add_certificates() = CertificateDirectory::Describe(usable);
                 }
                 for (std::string& problem : found.problems) {
                   response->add_problems(std::move(problem));
                 }
                 return absl::OkStatus();
               });
}

grpc::ServerUnaryReactor* DirectoryService::Publish(grpc::CallbackServerContext* context,
                                                    const v1::PublishRequest* request,
                                                    v1::PublishResponse* response) {
  const UnaryCall call = StartCall(context, "Publish", *request, *response);
  absl::StatusOr<std::string> caller =
      Allowed(call, appliance_, "", config::v1::PUBLISH_CERTIFICATES);
  if (!caller.ok()) return Refuse(call, caller.status());
  absl::StatusOr<CertificateDirectory*> directory = DirectoryOf(appliance_);
  if (!directory.ok()) return Refuse(call, directory.status());
  absl::StatusOr<std::string> der = CertificateDer(request->certificate());
  if (!der.ok()) return Refuse(call, der.status());
  Appliance& appliance = appliance_;
  return RunOn(
      call, (*directory)->queue(), "",
      [&appliance, caller = *caller, directory = *directory, der = *std::move(der),
       skip_validation = request->skip_validation(), response] {
        return AuditedWithDigest<bool>(
                   appliance, caller, "PUBLISH_CERTIFICATE", "", audit::InputDigest(der),
                   [&]() -> absl::StatusOr<bool> {
                     if (!skip_validation) {
                       // Parsed by the store too; validated first so that a
                       // certificate nobody could encrypt to is not kept.
                       const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
                       X509Ptr certificate(
                           d2i_X509(nullptr, &cursor, static_cast<long>(der.size())));
                       if (!certificate) {
                         ERR_clear_error();
                         return absl::InvalidArgumentError("not a DER X.509 certificate");
                       }
                       RETURN_IF_ERROR(appliance.ValidateRecipient(certificate.get()));
                     }
                     ASSIGN_OR_RETURN(directory::StoredCertificate stored,
                                      directory->store().Put({.der = der}));
                     *response->mutable_certificate() = CertificateDirectory::Describe(stored);
                     return true;
                   })
            .status();
      });
}

grpc::ServerUnaryReactor* DirectoryService::Remove(grpc::CallbackServerContext* context,
                                                   const v1::RemoveRequest* request,
                                                   v1::RemoveResponse* response) {
  const UnaryCall call = StartCall(context, "Remove", *request, *response);
  absl::StatusOr<std::string> caller =
      Allowed(call, appliance_, "", config::v1::PUBLISH_CERTIFICATES);
  if (!caller.ok()) return Refuse(call, caller.status());
  absl::StatusOr<CertificateDirectory*> directory = DirectoryOf(appliance_);
  if (!directory.ok()) return Refuse(call, directory.status());
  const std::string sha256 = absl::AsciiStrToLower(request->sha256());
  absl::StatusOr<std::string> fingerprint = FingerprintBytes(sha256);
  if (!fingerprint.ok()) return Refuse(call, fingerprint.status());
  Appliance& appliance = appliance_;
  return RunOn(call, (*directory)->queue(), "",
               [&appliance, caller = *caller, directory = *directory, sha256,
                fingerprint = *std::move(fingerprint)] {
                 return AuditedWithDigest<bool>(
                            appliance, caller, "REMOVE_CERTIFICATE", "", fingerprint,
                            [&]() -> absl::StatusOr<bool> {
                              RETURN_IF_ERROR(directory->store().Remove(sha256));
                              return true;
                            })
                     .status();
               });
}

grpc::ServerUnaryReactor* DirectoryService::List(grpc::CallbackServerContext* context,
                                                 const v1::ListRequest* request,
                                                 v1::ListResponse* response) {
  const UnaryCall call = StartCall(context, "List", *request, *response);
  absl::StatusOr<std::string> caller =
      Allowed(call, appliance_, "", config::v1::PUBLISH_CERTIFICATES);
  if (!caller.ok()) return Refuse(call, caller.status());
  absl::StatusOr<CertificateDirectory*> directory = DirectoryOf(appliance_);
  if (!directory.ok()) return Refuse(call, directory.status());
  directory::ListRequest list;
  if (!request->address().empty()) {
    absl::StatusOr<std::string> address = directory::NormalizeAddress(request->address());
    if (!address.ok()) return Refuse(call, address.status());
    list.address = *std::move(address);
  }
  if (!request->page_token().empty()) {
    if (absl::Status valid = FingerprintBytes(request->page_token()).status(); !valid.ok()) {
      return Refuse(call, absl::InvalidArgumentError("page_token is not one this call gave"));
    }
    list.after_sha256_hex = absl::AsciiStrToLower(request->page_token());
  }
  const uint32_t limit =
      request->limit() == 0 ? kMaxListPage : std::min(request->limit(), kMaxListPage);
  list.limit = limit;
  return RunOn(call, (*directory)->queue(), "", [directory = *directory, list, response] {
    ASSIGN_OR_RETURN(std::vector<directory::StoredCertificate> page, directory->store().List(list));
    for (const directory::StoredCertificate& stored : page) {
      *response->add_certificates() = CertificateDirectory::Describe(stored);
    }
    if (page.size() == list.limit) response->set_next_page_token(page.back().sha256_hex);
    return absl::OkStatus();
  });
}

}  // namespace signet::server
