// lookup, publish, unpublish, certificates, export-smimea and export-ldif:
// unary calls to the Directory service. The exports format the published
// certificates here, so that signetd serves no zone or LDIF text.
#include <stdio.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "appliance/cli/cli_status.h"
#include "appliance/cli/commands.h"
#include "appliance/cli/connection.h"
#include "appliance/cli/files.h"
#include "appliance/cli/pem.h"
#include "appliance/directory/ldif_export.h"
#include "appliance/directory/smimea_export.h"
#include "common/status_macros.h"
#include "signet/v1/directory.grpc.pb.h"

namespace signet::cli {
namespace {

using Call = std::function<grpc::Status(v1::Directory::Stub&, grpc::ClientContext*)>;

absl::Status CallDirectory(const Connection& connection, const Call& call) {
  auto stub = v1::Directory::NewStub(connection.channel());
  grpc::ClientContext context;
  connection.Prepare(context);
  return StatusFromGrpc(call(*stub, &context));
}

const char* CipherName(v1::ContentCipher cipher) {
  switch (cipher) {
    case v1::AES_128_GCM:
      return "aes-128-gcm";
    case v1::AES_256_CBC:
      return "aes-256-cbc";
    case v1::AES_128_CBC:
      return "aes-128-cbc";
    default:
      return "aes-256-gcm";
  }
}

std::string Date(const google::protobuf::Timestamp& time) {
  return absl::FormatTime("%Y-%m-%d", absl::FromUnixSeconds(time.seconds()), absl::UTCTimeZone());
}

// One certificate, one line: what an operator needs to tell them apart.
std::string Describe(const v1::DirectoryCertificate& certificate) {
  return absl::StrCat(certificate.sha256(), "  ", certificate.source(), "  ", certificate.subject(),
                      "  <", absl::StrJoin(certificate.email_addresses(), ", "), ">  valid ",
                      Date(certificate.not_before()), " to ", Date(certificate.not_after()), "  ",
                      CipherName(certificate.cipher()),
                      certificate.rsa_key_transport() == v1::RSA_PKCS1 ? " pkcs1" : "",
                      certificate.from_capabilities() ? " (advertised)" : "", "\n");
}

absl::Status WriteTo(const std::string& path, const std::string& text) {
  ASSIGN_OR_RETURN(OutputFile out, OutputFile::Create(path));
  RETURN_IF_ERROR(out.Write(text));
  return out.Commit();
}

// Every published certificate, page by page.
absl::StatusOr<std::vector<v1::DirectoryCertificate>> AllPublished(const Connection& connection) {
  std::vector<v1::DirectoryCertificate> all;
  std::string page_token;
  do {
    v1::ListRequest request;
    request.set_page_token(page_token);
    v1::ListResponse response;
    RETURN_IF_ERROR(
        CallDirectory(connection, [&](v1::Directory::Stub& stub, grpc::ClientContext* context) {
          return stub.List(context, request, &response);
        }));
    for (v1::DirectoryCertificate& certificate : *response.mutable_certificates()) {
      if (certificate.source() == "published") all.push_back(std::move(certificate));
    }
    page_token = response.next_page_token();
  } while (!page_token.empty());
  return all;
}

}  // namespace

absl::Status RunDirectoryCommand(const Invocation& invocation) {
  std::string certificate;
  if (invocation.command == Command::kPublish) {
    ASSIGN_OR_RETURN(std::string contents, ReadSmallFile(invocation.certificate_file));
    ASSIGN_OR_RETURN(certificate, CertificateDer(contents, invocation.certificate_file));
  }
  ASSIGN_OR_RETURN(Connection connection, Connection::Open(invocation.connection));
  switch (invocation.command) {
    case Command::kLookup: {
      v1::LookupRequest request;
      request.set_address(invocation.address);
      v1::LookupResponse response;
      RETURN_IF_ERROR(
          CallDirectory(connection, [&](v1::Directory::Stub& stub, grpc::ClientContext* context) {
            return stub.Lookup(context, request, &response);
          }));
      std::string report;
      for (const v1::DirectoryCertificate& found : response.certificates()) {
        absl::StrAppend(&report, Describe(found));
      }
      for (const std::string& problem : response.problems()) {
        absl::StrAppend(&report, "signet: lookup: not used: ", problem, "\n");
      }
      fputs(report.c_str(), stderr);
      if (response.certificates().empty()) {
        return absl::NotFoundError(absl::StrCat("no usable certificate for ", response.address()));
      }
      std::string pem;
      for (const v1::DirectoryCertificate& found : response.certificates()) {
        absl::StrAppend(&pem, PemEncode("CERTIFICATE", found.certificate()));
      }
      return WriteTo(invocation.output, pem);
    }
    case Command::kPublish: {
      v1::PublishRequest request;
      request.set_certificate(certificate);
      request.set_skip_validation(invocation.skip_validation);
      v1::PublishResponse response;
      RETURN_IF_ERROR(
          CallDirectory(connection, [&](v1::Directory::Stub& stub, grpc::ClientContext* context) {
            return stub.Publish(context, request, &response);
          }));
      return WriteTo("-", Describe(response.certificate()));
    }
    case Command::kUnpublish: {
      v1::RemoveRequest request;
      request.set_sha256(invocation.sha256);
      v1::RemoveResponse response;
      return CallDirectory(connection,
                           [&](v1::Directory::Stub& stub, grpc::ClientContext* context) {
                             return stub.Remove(context, request, &response);
                           });
    }
    case Command::kCertificates: {
      std::string text;
      std::string page_token;
      do {
        v1::ListRequest request;
        request.set_address(invocation.address);
        request.set_page_token(page_token);
        v1::ListResponse response;
        RETURN_IF_ERROR(
            CallDirectory(connection, [&](v1::Directory::Stub& stub, grpc::ClientContext* context) {
              return stub.List(context, request, &response);
            }));
        for (const v1::DirectoryCertificate& stored : response.certificates()) {
          absl::StrAppend(&text, Describe(stored));
        }
        page_token = response.next_page_token();
      } while (!page_token.empty());
      return WriteTo("-", text);
    }
    case Command::kExportSmimea: {
      ASSIGN_OR_RETURN(std::vector<v1::DirectoryCertificate> published, AllPublished(connection));
      std::vector<directory::SmimeaExportEntry> entries;
      for (const v1::DirectoryCertificate& one : published) {
        for (const std::string& address : one.email_addresses()) {
          entries.push_back({.address = address, .der = one.certificate()});
        }
      }
      ASSIGN_OR_RETURN(
          std::string zone,
          directory::SmimeaZoneRecords(entries, {.usage = invocation.smimea_usage,
                                                 .generic_syntax = invocation.smimea_generic}));
      return WriteTo(invocation.output, zone);
    }
    case Command::kExportLdif: {
      ASSIGN_OR_RETURN(std::vector<v1::DirectoryCertificate> published, AllPublished(connection));
      std::vector<std::string> certificates;
      for (const v1::DirectoryCertificate& one : published) {
        certificates.push_back(one.certificate());
      }
      ASSIGN_OR_RETURN(directory::LdifExport exported,
                       directory::ExportLdif(certificates, invocation.base_dn));
      return WriteTo(invocation.output, exported.ldif);
    }
    default:
      return absl::InternalError(absl::StrCat(invocation.name, " is not a directory command"));
  }
}

}  // namespace signet::cli
