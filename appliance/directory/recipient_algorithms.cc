#include "appliance/directory/recipient_algorithms.h"

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "common/ossl_ptr.h"

namespace signet::directory {

RecipientAlgorithms AlgorithmsFromCapabilities(absl::string_view capabilities_der) {
  if (capabilities_der.empty()) return {};
  const auto* cursor = reinterpret_cast<const unsigned char*>(capabilities_der.data());
  X509AlgorStackPtr list(
      d2i_X509_ALGORS(nullptr, &cursor, static_cast<long>(capabilities_der.size())));
  if (!list) {
    ERR_clear_error();
    return {};
  }
  RecipientAlgorithms algorithms{.from_capabilities = true,
                                 .aes256_gcm = false,
                                 .aes128_gcm = false,
                                 .aes256_cbc = false,
                                 .aes128_cbc = false,
                                 .rsa_oaep = false};
  for (int i = 0; i < sk_X509_ALGOR_num(list.get()); ++i) {
    const ASN1_OBJECT* object = nullptr;
    X509_ALGOR_get0(&object, nullptr, nullptr, sk_X509_ALGOR_value(list.get(), i));
    switch (OBJ_obj2nid(object)) {
      case NID_aes_256_gcm:
        algorithms.aes256_gcm = true;
        break;
      case NID_aes_128_gcm:
        algorithms.aes128_gcm = true;
        break;
      case NID_aes_256_cbc:
        algorithms.aes256_cbc = true;
        break;
      case NID_aes_128_cbc:
        algorithms.aes128_cbc = true;
        break;
      case NID_rsaesOaep:
        algorithms.rsa_oaep = true;
        break;
      default:
        break;
    }
  }
  if (!algorithms.aes256_gcm && !algorithms.aes128_gcm && !algorithms.aes256_cbc) {
    algorithms.aes128_cbc = true;
  }
  return algorithms;
}

ChosenAlgorithms ChooseAlgorithms(const std::vector<RecipientAlgorithms>& recipients) {
  RecipientAlgorithms all;
  for (const RecipientAlgorithms& one : recipients) {
    all.aes256_gcm &= one.aes256_gcm;
    all.aes128_gcm &= one.aes128_gcm;
    all.aes256_cbc &= one.aes256_cbc;
    all.aes128_cbc &= one.aes128_cbc;
    all.rsa_oaep &= one.rsa_oaep;
  }
  ChosenAlgorithms chosen;
  if (all.aes256_gcm) {
    chosen.cipher = cms::ContentCipher::kAes256Gcm;
  } else if (all.aes128_gcm) {
    chosen.cipher = cms::ContentCipher::kAes128Gcm;
  } else if (all.aes256_cbc) {
    chosen.cipher = cms::ContentCipher::kAes256Cbc;
  } else {
    chosen.cipher = cms::ContentCipher::kAes128Cbc;
  }
  chosen.rsa_key_transport =
      all.rsa_oaep ? cms::RsaKeyTransport::kOaepSha256 : cms::RsaKeyTransport::kPkcs1;
  return chosen;
}

}  // namespace signet::directory
