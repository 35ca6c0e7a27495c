#include "tokens/keys/key_locator.h"

#include <openssl/x509.h>

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "tokens/keys/public_key.h"
#include "tokens/objects.h"

namespace signet {
namespace {

const std::vector<CK_ATTRIBUTE_TYPE>& PrivateKeyAttributeTypes() {
  // Public parts only: CKA_PRIVATE_EXPONENT, CKA_VALUE and the like are never
  // asked for.
  static const auto* types = new std::vector<CK_ATTRIBUTE_TYPE>{CKA_KEY_TYPE,
                                                                CKA_LABEL,
                                                                CKA_ID,
                                                                CKA_SIGN,
                                                                CKA_DECRYPT,
                                                                CKA_DERIVE,
                                                                CKA_UNWRAP,
                                                                CKA_SENSITIVE,
                                                                CKA_ALWAYS_SENSITIVE,
                                                                CKA_EXTRACTABLE,
                                                                CKA_NEVER_EXTRACTABLE,
                                                                CKA_ALWAYS_AUTHENTICATE,
                                                                CKA_MODULUS,
                                                                CKA_PUBLIC_EXPONENT,
                                                                CKA_EC_PARAMS};
  return *types;
}

std::string Value(const AttributeValues& values, CK_ATTRIBUTE_TYPE type) {
  auto it = values.find(type);
  return it == values.end() ? std::string() : it->second;
}

// The one object of `object_class` with the key's CKA_ID, if there is one.
absl::StatusOr<std::optional<CK_OBJECT_HANDLE>> FindCompanion(const Module& module,
                                                              CK_SESSION_HANDLE session,
                                                              CK_OBJECT_CLASS object_class,
                                                              const std::string& id) {
  if (id.empty()) return std::nullopt;
  AttributeTemplate search;
  search.Add(CKA_CLASS, object_class).AddBytes(CKA_ID, id);
  ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> found, FindObjects(module, session, search, 1));
  if (found.empty()) return std::nullopt;
  return found.front();
}

absl::StatusOr<X509Ptr> ReadCertificate(const Module& module, CK_SESSION_HANDLE session,
                                        const std::string& id) {
  ASSIGN_OR_RETURN(std::optional<CK_OBJECT_HANDLE> cert,
                   FindCompanion(module, session, CKO_CERTIFICATE, id));
  if (!cert.has_value()) return X509Ptr();
  ASSIGN_OR_RETURN(AttributeValues values, ReadAttributes(module, session, *cert, {CKA_VALUE}));
  std::string der = Value(values, CKA_VALUE);
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr x509(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!x509) {
    return absl::InvalidArgumentError(
        "the certificate stored beside the key is not a valid DER X.509 certificate");
  }
  return x509;
}

absl::StatusOr<EvpPkeyPtr> ReadEcPublicKey(const Module& module, CK_SESSION_HANDLE session,
                                           const std::string& id, const std::string& params) {
  ASSIGN_OR_RETURN(std::optional<CK_OBJECT_HANDLE> pub,
                   FindCompanion(module, session, CKO_PUBLIC_KEY, id));
  if (!pub.has_value()) return EvpPkeyPtr();
  ASSIGN_OR_RETURN(AttributeValues values,
                   ReadAttributes(module, session, *pub, {CKA_EC_PARAMS, CKA_EC_POINT}));
  std::string point = Value(values, CKA_EC_POINT);
  if (point.empty()) return EvpPkeyPtr();
  std::string pub_params = Value(values, CKA_EC_PARAMS);
  return EcPublicKey(params.empty() ? pub_params : params, point);
}

}  // namespace

KeySelector KeySelector::ByLabel(std::string label) {
  KeySelector s;
  s.label = std::move(label);
  return s;
}

KeySelector KeySelector::ById(std::string id) {
  KeySelector s;
  s.id = std::move(id);
  return s;
}

std::string KeySelector::Describe() const {
  std::vector<std::string> parts;
  if (label) parts.push_back(absl::StrCat("object=", *label));
  if (id) parts.push_back(absl::StrCat("id=", absl::BytesToHexString(*id)));
  return parts.empty() ? "any key" : absl::StrJoin(parts, ";");
}

absl::StatusOr<LocatedKey> LocateKey(const Module& module, CK_SESSION_HANDLE session,
                                     const KeySelector& selector) {
  if (!selector.label && !selector.id) {
    return absl::InvalidArgumentError("a key is selected by its label, its id, or both");
  }
  AttributeTemplate search;
  search.Add(CKA_CLASS, CKO_PRIVATE_KEY);
  if (selector.label) search.AddBytes(CKA_LABEL, *selector.label);
  if (selector.id) search.AddBytes(CKA_ID, *selector.id);
  ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> found, FindObjects(module, session, search, 2));
  if (found.empty()) {
    return absl::NotFoundError(
        absl::StrCat("no private key ", selector.Describe(), " on the token"));
  }
  if (found.size() > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("several private keys match ", selector.Describe(), "; select by id"));
  }

  LocatedKey key;
  key.handle = found.front();
  ASSIGN_OR_RETURN(AttributeValues values,
                   ReadAttributes(module, session, key.handle, PrivateKeyAttributeTypes()));
  key.label = Value(values, CKA_LABEL);
  key.id = Value(values, CKA_ID);
  std::optional<CK_ULONG> key_type = UlongAttribute(values, CKA_KEY_TYPE);
  if (key_type == CKK_RSA) {
    key.type = KeyType::kRsa;
  } else if (key_type == CKK_EC) {
    key.type = KeyType::kEc;
  } else {
    return absl::UnimplementedError(absl::StrCat("key ", selector.Describe(),
                                                 " is neither RSA nor EC; Signet uses only those"));
  }
  auto flag = [&](CK_ATTRIBUTE_TYPE type, bool absent) {
    return BoolAttribute(values, type).value_or(absent);
  };
  key.attributes = KeyAttributes{
      .sign = flag(CKA_SIGN, false),
      .decrypt = flag(CKA_DECRYPT, false),
      .derive = flag(CKA_DERIVE, false),
      .unwrap = flag(CKA_UNWRAP, false),
      // Absent protection attributes count as the unsafe value.
      .sensitive = flag(CKA_SENSITIVE, false),
      .always_sensitive = flag(CKA_ALWAYS_SENSITIVE, false),
      .extractable = flag(CKA_EXTRACTABLE, true),
      .never_extractable = flag(CKA_NEVER_EXTRACTABLE, false),
      // Absent (a module older than PKCS#11 2.20): no per-operation login.
      .always_authenticate = flag(CKA_ALWAYS_AUTHENTICATE, false),
  };

  ASSIGN_OR_RETURN(key.certificate, ReadCertificate(module, session, key.id));

  absl::StatusOr<EvpPkeyPtr> public_key = EvpPkeyPtr();
  if (key.type == KeyType::kRsa) {
    std::string modulus = Value(values, CKA_MODULUS);
    std::string exponent = Value(values, CKA_PUBLIC_EXPONENT);
    if (!modulus.empty() && !exponent.empty()) public_key = RsaPublicKey(modulus, exponent);
  } else {
    public_key = ReadEcPublicKey(module, session, key.id, Value(values, CKA_EC_PARAMS));
  }
  if (!public_key.ok()) return public_key.status();
  key.public_key = std::move(*public_key);

  if (key.certificate) {
    EVP_PKEY* cert_key = X509_get0_pubkey(key.certificate.get());
    if (!key.public_key) {
      key.public_key = ShareKey(cert_key);
    } else if (!SamePublicKey(key.public_key.get(), cert_key)) {
      return absl::FailedPreconditionError(absl::StrCat("the certificate stored with key ",
                                                        selector.Describe(),
                                                        " certifies a different public key"));
    }
  }
  if (!key.public_key) {
    return absl::FailedPreconditionError(
        absl::StrCat("the public key of ", selector.Describe(),
                     " cannot be found: the token has no public key object or certificate with "
                     "its CKA_ID"));
  }
  return key;
}

}  // namespace signet
