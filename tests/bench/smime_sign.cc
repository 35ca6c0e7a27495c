#include "tests/bench/smime_sign.h"

#include <openssl/cms.h>

#include "common/openssl_error.h"
#include "common/ossl_ptr.h"

namespace signet::bench {

absl::StatusOr<std::string> SignSmimeDetached(X509* certificate, EVP_PKEY* key,
                                              const std::string& mail, OSSL_LIB_CTX* libctx) {
  BioPtr in = ReadBio(mail);
  constexpr unsigned int kFlags = CMS_DETACHED | CMS_STREAM;
  CmsPtr cms(CMS_sign_ex(certificate, key, nullptr, in.get(), kFlags, libctx, nullptr));
  if (!cms) return OpenSslError(absl::StatusCode::kInternal, "CMS_sign_ex");
  BioPtr out(BIO_new(BIO_s_mem()));
  // The signature is computed here, while the content streams through.
  if (SMIME_write_CMS(out.get(), cms.get(), in.get(), kFlags) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "SMIME_write_CMS");
  }
  char* data = nullptr;
  const long length = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

}  // namespace signet::bench
