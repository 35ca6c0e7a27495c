#include "tests/bench/bench_mail.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "absl/strings/str_cat.h"
#include "common/ossl_ptr.h"
#include "signet/v1/mail.grpc.pb.h"

namespace signet::bench {

std::string BenchMail(size_t bytes) {
  std::string mail =
      "From: Statements <statements@bank.example>\r\n"
      "To: customer@example.org\r\n"
      "Subject: Your statement\r\n"
      "Content-Type: text/plain; charset=us-ascii\r\n"
      "\r\n";
  const std::string line = "Balance on 27 November: 1,234.56 EUR. Thank you for banking.\r\n";
  while (mail.size() + line.size() <= bytes) mail += line;
  mail.append(bytes - mail.size(), 'x');
  return mail;
}

std::string Sha256Of(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(digest), length);
}

absl::StatusOr<std::string> EncryptWithSignetd(const std::shared_ptr<grpc::Channel>& channel,
                                               const std::string& certificate_pem,
                                               const std::string& mail) {
  BioPtr bio = ReadBio(certificate_pem);
  X509Ptr certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  unsigned char* der = nullptr;
  const int length = certificate ? i2d_X509(certificate.get(), &der) : -1;
  if (length <= 0) return absl::InternalError("certificate");
  v1::EncryptMailRequest header;
  header.mutable_header()->mutable_options()->add_recipient_certificates(
      std::string(reinterpret_cast<char*>(der), static_cast<size_t>(length)));
  OPENSSL_free(der);
  header.mutable_header()->set_size(mail.size());
  grpc::ClientContext context;
  auto stream = v1::Mail::NewStub(channel)->EncryptMail(&context);
  v1::EncryptMailRequest chunk;
  chunk.set_chunk(mail);
  stream->Write(header);
  stream->Write(chunk);
  stream->WritesDone();
  std::string out;
  v1::MailResponse response;
  while (stream->Read(&response)) {
    if (!response.has_header()) out += response.chunk();
  }
  grpc::Status status = stream->Finish();
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("EncryptMail: ", status.error_message()));
  }
  return out;
}

}  // namespace signet::bench
