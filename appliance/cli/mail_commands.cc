// sign, encrypt, sign-encrypt, decrypt, verify and sign-digest.
#include <stdio.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "appliance/cli/cli_status.h"
#include "appliance/cli/commands.h"
#include "appliance/cli/connection.h"
#include "appliance/cli/files.h"
#include "appliance/cli/mail_stream.h"
#include "appliance/cli/pem.h"
#include "appliance/cli/progress.h"
#include "appliance/cli/reports.h"
#include "common/status_macros.h"
#include "signet/v1/mail.grpc.pb.h"

namespace signet::cli {
namespace {

// The recipients' certificates as DER, read before anything is sent.
absl::StatusOr<v1::EncryptOptions> EncryptOptionsOf(const Invocation& invocation) {
  v1::EncryptOptions options;
  for (const std::string& path : invocation.recipient_files) {
    ASSIGN_OR_RETURN(std::string contents, ReadSmallFile(path));
    absl::StatusOr<std::string> der = CertificateDer(contents, path);
    if (!der.ok()) return der.status();
    options.add_recipient_certificates(std::move(*der));
  }
  for (const std::string& address : invocation.recipient_addresses) {
    options.add_recipient_addresses(address);
  }
  options.set_skip_unresolved_recipients(invocation.skip_unresolved);
  options.set_cipher(invocation.cipher);
  options.set_rsa_key_transport(invocation.rsa_key_transport);
  options.set_skip_recipient_validation(invocation.skip_recipient_validation);
  return options;
}

absl::Status WriteStderr(const std::string& text) {
  fputs(text.c_str(), stderr);
  fflush(stderr);
  return absl::OkStatus();
}

}  // namespace

absl::Status RunMailCommand(const Invocation& invocation, bool show_progress) {
  v1::EncryptOptions encrypt;
  if (invocation.command == Command::kEncrypt || invocation.command == Command::kSignEncrypt) {
    ASSIGN_OR_RETURN(v1::EncryptOptions options, EncryptOptionsOf(invocation));
    encrypt = std::move(options);
  }
  ASSIGN_OR_RETURN(InputFile input, InputFile::Open(invocation.input));
  // Plaintext out of a decryption is for its owner only.
  absl::StatusOr<OutputFile> output =
      OutputFile::Create(invocation.output, invocation.command == Command::kDecrypt);
  if (!output.ok()) return output.status();
  absl::StatusOr<Connection> connection = Connection::Open(invocation.connection);
  if (!connection.ok()) return connection.status();

  auto stub = v1::Mail::NewStub(connection->channel());
  grpc::ClientContext context;
  connection->Prepare(context);
  Progress progress(invocation.name, show_progress);
  absl::StatusOr<v1::MailResponse::Header> header;
  switch (invocation.command) {
    case Command::kSign: {
      v1::SignMailRequest::Header request;
      request.set_key(invocation.key);
      *request.mutable_options() = invocation.sign;
      header = StreamMail(&v1::Mail::Stub::SignMail, *stub, context, std::move(request), input,
                          *output, progress);
      break;
    }
    case Command::kEncrypt: {
      v1::EncryptMailRequest::Header request;
      *request.mutable_options() = std::move(encrypt);
      header = StreamMail(&v1::Mail::Stub::EncryptMail, *stub, context, std::move(request), input,
                          *output, progress);
      break;
    }
    case Command::kSignEncrypt: {
      v1::SignAndEncryptMailRequest::Header request;
      request.set_signing_key(invocation.key);
      *request.mutable_sign() = invocation.sign;
      *request.mutable_encrypt() = std::move(encrypt);
      header = StreamMail(&v1::Mail::Stub::SignAndEncryptMail, *stub, context, std::move(request),
                          input, *output, progress);
      break;
    }
    case Command::kDecrypt: {
      v1::DecryptMailRequest::Header request;
      request.set_key(invocation.key);
      header = StreamMail(&v1::Mail::Stub::DecryptMail, *stub, context, std::move(request), input,
                          *output, progress);
      break;
    }
    case Command::kVerify: {
      v1::VerifyMailRequest::Header request;
      request.set_require_trusted_chain(!invocation.allow_untrusted);
      request.set_require_sender_match(invocation.require_sender_match);
      header = StreamMail(&v1::Mail::Stub::VerifyMail, *stub, context, std::move(request), input,
                          *output, progress);
      break;
    }
    default:
      return absl::InternalError(absl::StrCat(invocation.name, " is not a mail command"));
  }
  if (!header.ok()) return header.status();
  RETURN_IF_ERROR(output->Commit());

  if (invocation.command == Command::kVerify) return WriteStderr(FormatSigners(*header));
  if (!header->resolved_recipients().empty() || !header->unresolved_recipients().empty()) {
    RETURN_IF_ERROR(WriteStderr(FormatResolvedRecipients(invocation.name, *header)));
  }
  if (invocation.sign.timestamp() || header->has_timestamp()) {
    return WriteStderr(FormatSignatureTimestamp(invocation.name, header->timestamp()));
  }
  if (invocation.command == Command::kDecrypt && !header->authenticated()) {
    // CBC content encryption: the daemon decrypted it, but nothing proves it
    // is what the sender encrypted.
    return WriteStderr(
        "signet: decrypt: note: the mail was EnvelopedData (CBC), not AuthEnvelopedData: its "
        "content is decrypted but not authenticated\n");
  }
  return absl::OkStatus();
}

absl::Status RunSignDigest(const Invocation& invocation) {
  ASSIGN_OR_RETURN(OutputFile output, OutputFile::Create(invocation.output));
  absl::StatusOr<Connection> connection = Connection::Open(invocation.connection);
  if (!connection.ok()) return connection.status();
  v1::SignDigestRequest request;
  request.set_key(invocation.key);
  request.set_digest_algorithm(invocation.sign.digest());
  request.set_digest(invocation.digest);
  request.set_rsa_pss(invocation.sign.rsa_pss());
  request.set_timestamp(invocation.sign.timestamp());
  v1::SignDigestResponse response;
  grpc::ClientContext context;
  connection->Prepare(context);
  grpc::Status status =
      v1::Mail::NewStub(connection->channel())->SignDigest(&context, request, &response);
  if (!status.ok()) return StatusFromGrpc(status);
  RETURN_IF_ERROR(output.Write(response.signature()));
  RETURN_IF_ERROR(output.Commit());
  if (invocation.sign.timestamp() || response.has_timestamp()) {
    return WriteStderr(FormatSignatureTimestamp(invocation.name, response.timestamp()));
  }
  return absl::OkStatus();
}

}  // namespace signet::cli
