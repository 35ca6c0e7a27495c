#include "appliance/server/transport_identity.h"

#include <grpc/grpc_security_constants.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "appliance/server/unix_listener.h"
#include "common/ossl_ptr.h"

namespace signet::server {
namespace {

std::string Rfc2253(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return {};
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  return length > 0 ? std::string(data, static_cast<size_t>(length)) : std::string();
}

}  // namespace

CallerIdentity IdentityOf(const grpc::AuthContext& context) {
  CallerIdentity identity;
  identity.unix_uid = PeerUid(context);
  // gRPC has verified the certificate against the client CA; its own
  // subject text is not RFC 4514, so the certificate is read here.
  std::vector<grpc::string_ref> pem = context.FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (pem.size() != 1) return identity;
  BioPtr bio = ReadBio(absl::string_view(pem[0].data(), pem[0].size()));
  X509Ptr certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!certificate) return identity;
  identity.certificate_subject = Rfc2253(X509_get_subject_name(certificate.get()));
  OsslPtr<GENERAL_NAMES, GENERAL_NAMES_free> names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate.get(), NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type != GEN_DNS && name->type != GEN_EMAIL) continue;
    const ASN1_IA5STRING* text = name->d.ia5;
    identity.certificate_sans.emplace_back(reinterpret_cast<const char*>(text->data),
                                           static_cast<size_t>(text->length));
  }
  return identity;
}

}  // namespace signet::server
