#include "common/asn1_text.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>

#include "common/ossl_ptr.h"

namespace signet {

std::string IntegerHex(const ASN1_INTEGER* integer) {
  if (integer == nullptr) return {};
  BignumPtr value(ASN1_INTEGER_to_BN(integer, nullptr));
  if (!value) return {};
  char* hex = BN_bn2hex(value.get());
  std::string text = hex == nullptr ? "" : hex;
  OPENSSL_free(hex);
  return text;
}

std::string DottedOid(const ASN1_OBJECT* object) {
  char text[256] = {};
  if (object == nullptr) return {};
  const int length = OBJ_obj2txt(text, sizeof(text), object, /*no_name=*/1);
  return length > 0 && static_cast<size_t>(length) < sizeof(text) ? std::string(text)
                                                                  : std::string();
}

}  // namespace signet
