#include "common/pem_certificates.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include "absl/strings/str_cat.h"
#include "common/openssl_error.h"
#include "common/read_file.h"

namespace signet {
namespace {

constexpr size_t kMaxPemFileBytes = 16 << 20;

}  // namespace

absl::StatusOr<std::vector<X509Ptr>> ParsePemCertificates(absl::string_view pem) {
  BioPtr bio = ReadBio(pem);
  std::vector<X509Ptr> certificates;
  while (X509* certificate = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certificates.emplace_back(certificate);
  }
  // The loop ends at the first certificate block that does not parse, or
  // at the end of the input, which is the only expected end.
  const unsigned long last = ERR_peek_last_error();
  if (ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE) {
    ERR_clear_error();
  } else if (last != 0) {
    absl::Status error = OpenSslError("a certificate does not parse");
    return absl::InvalidArgumentError(error.message());
  }
  if (certificates.empty()) return absl::InvalidArgumentError("no certificate");
  return certificates;
}

absl::StatusOr<std::vector<X509Ptr>> ReadPemCertificates(const std::string& path) {
  absl::StatusOr<std::string> pem =
      ReadFileUpTo(path, kMaxPemFileBytes, "not a PEM file of certificates");
  if (!pem.ok()) return pem.status();
  absl::StatusOr<std::vector<X509Ptr>> certificates = ParsePemCertificates(*pem);
  if (!certificates.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", certificates.status().message()));
  }
  return certificates;
}

}  // namespace signet
