#include "tokens/keys/public_key.h"

#include <openssl/core_names.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "absl/strings/str_cat.h"
#include "common/der.h"
#include "common/openssl_error.h"

namespace signet {
namespace {

absl::StatusOr<EvpPkeyPtr> FromData(const char* type, OSSL_PARAM* params) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    return OpenSslError(absl::StrCat("building an ", type, " public key from token attributes"));
  }
  return EvpPkeyPtr(key);
}

// CKA_EC_POINT should be DER OCTET STRING { point }; some tokens return the
// bare point. A bare uncompressed point starts with 0x04 and has odd length,
// which a DER OCTET STRING (tag 0x04, then a length) never parses to exactly.
std::string UnwrapEcPoint(absl::string_view point) {
  const auto* p = reinterpret_cast<const unsigned char*>(point.data());
  Asn1OctetStringPtr octets(d2i_ASN1_OCTET_STRING(nullptr, &p, static_cast<long>(point.size())));
  if (octets && p == reinterpret_cast<const unsigned char*>(point.data()) + point.size()) {
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(octets.get())),
                       static_cast<size_t>(ASN1_STRING_length(octets.get())));
  }
  return std::string(point);
}

}  // namespace

absl::StatusOr<EvpPkeyPtr> RsaPublicKey(absl::string_view modulus, absl::string_view exponent) {
  if (modulus.empty() || exponent.empty()) {
    return absl::InvalidArgumentError("an RSA key without modulus or public exponent");
  }
  BignumPtr n(BN_bin2bn(reinterpret_cast<const unsigned char*>(modulus.data()),
                        static_cast<int>(modulus.size()), nullptr));
  BignumPtr e(BN_bin2bn(reinterpret_cast<const unsigned char*>(exponent.data()),
                        static_cast<int>(exponent.size()), nullptr));
  OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!n || !e || !bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return OpenSslError("building RSA parameters");
  }
  OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) return OpenSslError("building RSA parameters");
  return FromData("RSA", params.get());
}

absl::StatusOr<EvpPkeyPtr> EcPublicKey(absl::string_view ec_params_der,
                                       absl::string_view ec_point) {
  const auto* p = reinterpret_cast<const unsigned char*>(ec_params_der.data());
  Asn1ObjectPtr oid(d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(ec_params_der.size())));
  if (!oid) {
    return absl::UnimplementedError(
        "the key's CKA_EC_PARAMS is not a named curve; explicit curve parameters are not "
        "supported");
  }
  int nid = OBJ_obj2nid(oid.get());
  const char* curve = nid == NID_undef ? nullptr : OBJ_nid2sn(nid);
  if (curve == nullptr) return absl::UnimplementedError("the key's curve is not known to OpenSSL");
  std::string point = UnwrapEcPoint(ec_point);
  if (point.empty()) return absl::InvalidArgumentError("an EC key without a public point");

  OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return OpenSslError("building EC parameters");
  }
  OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) return OpenSslError("building EC parameters");
  return FromData("EC", params.get());
}

absl::StatusOr<std::string> EcParamsForCurve(absl::string_view curve_name) {
  int nid = OBJ_sn2nid(std::string(curve_name).c_str());
  if (nid == NID_undef) nid = EC_curve_nist2nid(std::string(curve_name).c_str());
  ASN1_OBJECT* oid = nid == NID_undef ? nullptr : OBJ_nid2obj(nid);
  if (oid == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown curve ", curve_name));
  std::string der = DerOf<ASN1_OBJECT, i2d_ASN1_OBJECT>(oid);
  if (der.empty()) return OpenSslError("encoding a curve OID");
  return der;
}

absl::StatusOr<std::string> EcPublicPoint(const EVP_PKEY* key) {
  size_t length = 0;
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0, &length) != 1) {
    return OpenSslError("reading an EC public point");
  }
  std::string point(length, '\0');
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY,
                                      reinterpret_cast<unsigned char*>(point.data()), length,
                                      &length) != 1) {
    return OpenSslError("reading an EC public point");
  }
  point.resize(length);
  return point;
}

int EcFieldBytes(const EVP_PKEY* key) { return (EVP_PKEY_get_bits(key) + 7) / 8; }

bool SamePublicKey(const EVP_PKEY* a, const EVP_PKEY* b) {
  return a != nullptr && b != nullptr && EVP_PKEY_eq(a, b) == 1;
}

absl::StatusOr<std::string> PublicKeyDer(const EVP_PKEY* key) {
  std::string der = DerOf<EVP_PKEY, i2d_PUBKEY>(key);
  if (der.empty()) return OpenSslError("encoding a public key");
  return der;
}

}  // namespace signet
