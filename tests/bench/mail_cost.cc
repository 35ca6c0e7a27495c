#include "tests/bench/mail_cost.h"

#include <grpcpp/grpcpp.h>
#include <openssl/pem.h>

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/ossl_ptr.h"
#include "common/status_macros.h"
#include "tests/bench/process_stats.h"
#include "tests/fixtures/mail_stream_call.h"
#include "tests/fixtures/process_memory.h"
#include "tests/fixtures/read_file.h"

namespace signet::bench {
namespace {

template <typename Request>
using StreamMethod = std::unique_ptr<grpc::ClientReaderWriter<Request, v1::MailResponse>> (
    v1::Mail::Stub::*)(grpc::ClientContext*);

// One call with the size announced (as the CLI sends a file); the result is
// kept only when asked for, so a 50 MiB call's memory is signetd's alone.
template <typename Request>
absl::StatusOr<std::string> Stream(StreamMethod<Request> method, v1::Mail::Stub& stub,
                                   typename Request::Header header, absl::string_view mail,
                                   bool keep) {
  std::string out;
  fixtures::MailCallResult call =
      fixtures::StreamMail<Request>(method, stub, std::move(header), mail,
                                    {.deadline = std::chrono::seconds(300),
                                     .announce_size = true,
                                     .on_chunk = [&](const std::string& chunk) {
                                       if (keep) out += chunk;
                                     }});
  if (!call.status.ok())
    return absl::InternalError(absl::StrCat("call: ", call.status.error_message()));
  return out;
}

absl::StatusOr<std::string> CertificateDer(const std::string& pem) {
  BioPtr bio = ReadBio(pem);
  X509Ptr certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  unsigned char* der = nullptr;
  const int length = certificate ? i2d_X509(certificate.get(), &der) : -1;
  if (length <= 0) return absl::InternalError("certificate");
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  return out;
}

}  // namespace

absl::StatusOr<MailCalls> MakeMailCalls(BenchTokens& tokens, std::shared_ptr<v1::Mail::Stub> stub) {
  ASSIGN_OR_RETURN(std::string recipient,
                   CertificateDer(fixtures::ReadFile(tokens.CertificatePath("bench", "decrypt"))));
  MailCalls calls;
  calls.sign = [stub](absl::string_view mail, bool keep) {
    v1::SignMailRequest::Header header;
    header.set_key("p256");
    return Stream<v1::SignMailRequest>(&v1::Mail::Stub::SignMail, *stub, header, mail, keep);
  };
  calls.encrypt = [stub, recipient](absl::string_view mail, bool keep) {
    v1::EncryptMailRequest::Header header;
    header.mutable_options()->add_recipient_certificates(recipient);
    return Stream<v1::EncryptMailRequest>(&v1::Mail::Stub::EncryptMail, *stub, header, mail, keep);
  };
  calls.decrypt = [stub](absl::string_view mail, bool keep) {
    v1::DecryptMailRequest::Header header;
    header.set_key("decrypt");
    return Stream<v1::DecryptMailRequest>(&v1::Mail::Stub::DecryptMail, *stub, header, mail, keep);
  };
  calls.verify = [stub](absl::string_view mail, bool keep) {
    v1::VerifyMailRequest::Header header;
    header.set_require_trusted_chain(true);
    return Stream<v1::VerifyMailRequest>(&v1::Mail::Stub::VerifyMail, *stub, header, mail, keep);
  };
  return calls;
}

std::vector<LargeMailOp> LargeMailOps(const MailCalls& calls) {
  return {{"SignMail", &calls.sign, nullptr},
          {"EncryptMail", &calls.encrypt, nullptr},
          {"DecryptMail", &calls.decrypt, &calls.encrypt},
          {"VerifyMail", &calls.verify, &calls.sign}};
}

absl::StatusOr<double> CpuPerCall(pid_t pid, absl::Duration span,
                                  const std::function<absl::Status()>& call) {
  RETURN_IF_ERROR(call());
  ASSIGN_OR_RETURN(ProcessStats before, ReadProcessStats(pid));
  const absl::Time start = absl::Now();
  int calls = 0;
  while (calls < 3 || absl::Now() - start < span) {
    RETURN_IF_ERROR(call());
    ++calls;
  }
  ASSIGN_OR_RETURN(ProcessStats after, ReadProcessStats(pid));
  return (after.cpu_seconds - before.cpu_seconds) / calls;
}

absl::StatusOr<std::vector<PeakGrowth>> PeakGrowthPerCall(pid_t pid, const MailCalls& calls,
                                                          const std::string& mail) {
  std::string signed_mail;
  std::string encrypted;
  const struct {
    const char* op;
    std::function<absl::Status()> call;
  } steps[] = {
      {"SignMail",
       [&]() -> absl::Status {
         ASSIGN_OR_RETURN(signed_mail, calls.sign(mail, true));
         return absl::OkStatus();
       }},
      {"VerifyMail", [&]() { return calls.verify(signed_mail, false).status(); }},
      {"EncryptMail",
       [&]() -> absl::Status {
         ASSIGN_OR_RETURN(encrypted, calls.encrypt(mail, true));
         return absl::OkStatus();
       }},
      {"DecryptMail", [&]() { return calls.decrypt(encrypted, false).status(); }},
  };
  std::vector<PeakGrowth> growths;
  for (const auto& step : steps) {
    // The call before frees its mail and result as it ends on signetd's
    // side, which can be just after this process has the answer: measured
    // at once, that memory would count as already there, and the next
    // call's growth read low (0× once, for EncryptMail). Wait for the RSS
    // to stop falling first.
    uint64_t settled = fixtures::ProcessStatusKb(pid, "VmRSS");
    for (int i = 0; i < 100; ++i) {
      absl::SleepFor(absl::Milliseconds(20));
      const uint64_t now = fixtures::ProcessStatusKb(pid, "VmRSS");
      const bool falling = now + 256 < settled;
      settled = now;
      if (!falling) break;
    }
    if (!fixtures::ResetPeakRss(pid)) return absl::InternalError("cannot reset VmHWM");
    const uint64_t before_rss = fixtures::ProcessStatusKb(pid, "VmRSS");
    RETURN_IF_ERROR(step.call());
    const uint64_t after_peak = fixtures::ProcessStatusKb(pid, "VmHWM");
    growths.push_back(
        {step.op, after_peak > before_rss ? static_cast<double>(after_peak - before_rss) * 1024 : 0,
         before_rss});
  }
  return growths;
}

}  // namespace signet::bench
