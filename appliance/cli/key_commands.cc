// tokens, keys, key, keygen, csr and import-cert: unary calls to the Keys
// service.
#include <grpcpp/grpcpp.h>

#include <functional>

#include "absl/strings/str_cat.h"
#include "appliance/cli/cli_status.h"
#include "appliance/cli/commands.h"
#include "appliance/cli/connection.h"
#include "appliance/cli/files.h"
#include "appliance/cli/pem.h"
#include "appliance/cli/reports.h"
#include "common/status_macros.h"
#include "signet/v1/keys.grpc.pb.h"

namespace signet::cli {
namespace {

using Call = std::function<grpc::Status(v1::Keys::Stub&, grpc::ClientContext*)>;

// One unary call with the operation's deadline.
absl::Status CallKeys(const Connection& connection, const Call& call) {
  auto stub = v1::Keys::NewStub(connection.channel());
  grpc::ClientContext context;
  connection.Prepare(context);
  return StatusFromGrpc(call(*stub, &context));
}

absl::Status Print(const std::string& text) {
  ASSIGN_OR_RETURN(OutputFile out, OutputFile::Create("-"));
  return out.Write(text);
}

}  // namespace

absl::Status RunKeyCommand(const Invocation& invocation) {
  // Local input first: a missing file is reported without contacting signetd.
  std::string certificate;
  if (invocation.command == Command::kImportCert) {
    ASSIGN_OR_RETURN(std::string contents, ReadSmallFile(invocation.certificate_file));
    absl::StatusOr<std::string> der = CertificateDer(contents, invocation.certificate_file);
    if (!der.ok()) return der.status();
    certificate = std::move(*der);
  }
  std::optional<OutputFile> csr_output;
  if (invocation.command == Command::kCsr) {
    ASSIGN_OR_RETURN(OutputFile output, OutputFile::Create(invocation.output));
    csr_output.emplace(std::move(output));
  }
  ASSIGN_OR_RETURN(Connection connection, Connection::Open(invocation.connection));

  switch (invocation.command) {
    case Command::kTokens: {
      v1::ListTokensResponse response;
      absl::Status status =
          CallKeys(connection, [&](v1::Keys::Stub& stub, grpc::ClientContext* context) {
            return stub.ListTokens(context, v1::ListTokensRequest(), &response);
          });
      if (!status.ok()) return status;
      return Print(FormatTokens(response));
    }
    case Command::kKeys: {
      v1::ListKeysRequest request;
      request.set_token(invocation.token);
      v1::ListKeysResponse response;
      absl::Status status =
          CallKeys(connection, [&](v1::Keys::Stub& stub, grpc::ClientContext* context) {
            return stub.ListKeys(context, request, &response);
          });
      if (!status.ok()) return status;
      return Print(FormatKeys(response));
    }
    case Command::kKey: {
      v1::GetKeyRequest request;
      request.set_name(invocation.key);
      v1::Key response;
      absl::Status status =
          CallKeys(connection, [&](v1::Keys::Stub& stub, grpc::ClientContext* context) {
            return stub.GetKey(context, request, &response);
          });
      if (!status.ok()) return status;
      return Print(FormatKey(response));
    }
    case Command::kKeygen: {
      v1::GenerateKeyRequest request;
      request.set_token(invocation.token);
      request.set_label(invocation.label);
      request.set_id(invocation.id);
      request.set_algorithm(invocation.algorithm);
      request.set_purpose(invocation.purpose);
      v1::GeneratedKey response;
      absl::Status status =
          CallKeys(connection, [&](v1::Keys::Stub& stub, grpc::ClientContext* context) {
            return stub.GenerateKey(context, request, &response);
          });
      if (!status.ok()) return status;
      return Print(FormatGeneratedKey(response));
    }
    case Command::kCsr: {
      v1::CreateCsrRequest request;
      request.set_key(invocation.key);
      request.set_subject(invocation.subject);
      for (const std::string& email : invocation.emails) request.add_email_addresses(email);
      v1::CreateCsrResponse response;
      absl::Status status =
          CallKeys(connection, [&](v1::Keys::Stub& stub, grpc::ClientContext* context) {
            return stub.CreateCsr(context, request, &response);
          });
      if (!status.ok()) return status;
      if (absl::Status written =
              csr_output->Write(PemEncode("CERTIFICATE REQUEST", response.csr()));
          !written.ok()) {
        return written;
      }
      return csr_output->Commit();
    }
    case Command::kImportCert: {
      v1::ImportCertificateRequest request;
      request.set_key(invocation.key);
      request.set_certificate(std::move(certificate));
      v1::Key response;
      absl::Status status =
          CallKeys(connection, [&](v1::Keys::Stub& stub, grpc::ClientContext* context) {
            return stub.ImportCertificate(context, request, &response);
          });
      if (!status.ok()) return status;
      return Print(FormatKey(response));
    }
    default:
      return absl::InternalError(absl::StrCat(invocation.name, " is not a key command"));
  }
}

}  // namespace signet::cli
