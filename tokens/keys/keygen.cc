#include "tokens/keys/keygen.h"

#include <openssl/rand.h>

#include <mutex>
#include <optional>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "common/der.h"
#include "common/status_macros.h"
#include "tokens/keys/public_key.h"
#include "tokens/objects.h"

namespace signet {
namespace {

struct AlgorithmParameters {
  KeyType type;
  CK_ULONG rsa_bits = 0;
  const char* curve = nullptr;
};

AlgorithmParameters ParametersOf(KeyAlgorithm algorithm) {
  switch (algorithm) {
    case KeyAlgorithm::kRsa2048:
      return {KeyType::kRsa, 2048};
    case KeyAlgorithm::kRsa3072:
      return {KeyType::kRsa, 3072};
    case KeyAlgorithm::kRsa4096:
      return {KeyType::kRsa, 4096};
    case KeyAlgorithm::kEcP256:
      return {KeyType::kEc, 0, "prime256v1"};
    case KeyAlgorithm::kEcP384:
      return {KeyType::kEc, 0, "secp384r1"};
  }
  return {KeyType::kEc, 0, "prime256v1"};
}

// Whether any object (of `object_class`, if given) has this attribute value.
absl::StatusOr<bool> Exists(const Module& module, CK_SESSION_HANDLE session,
                            std::optional<CK_OBJECT_CLASS> object_class, CK_ATTRIBUTE_TYPE type,
                            const std::string& value) {
  AttributeTemplate search;
  if (object_class) search.Add(CKA_CLASS, *object_class);
  search.AddBytes(type, value);
  ASSIGN_OR_RETURN(std::vector<CK_OBJECT_HANDLE> found, FindObjects(module, session, search, 1));
  return !found.empty();
}

}  // namespace

absl::StatusOr<std::shared_ptr<TokenKey>> GenerateKeyPair(std::shared_ptr<Token> token,
                                                          const KeyGenSpec& spec,
                                                          absl::Time deadline) {
  if (token == nullptr) return absl::InvalidArgumentError("no token to generate the key on");
  if (spec.label.empty()) return absl::InvalidArgumentError("a new key needs a label");
  std::string id = spec.id;
  if (id.empty()) {
    id.resize(16);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(id.data()), static_cast<int>(id.size())) != 1) {
      return absl::InternalError("no random bytes for a key id");
    }
  }
  const AlgorithmParameters params = ParametersOf(spec.algorithm);
  const bool rsa = params.type == KeyType::kRsa;
  const bool sign = spec.purpose == KeyPurpose::kSign;

  AttributeTemplate public_template;
  public_template.Add(CKA_CLASS, CKO_PUBLIC_KEY)
      .Add(CKA_KEY_TYPE, rsa ? CKK_RSA : CKK_EC)
      .AddBool(CKA_TOKEN, true)
      .AddBool(CKA_PRIVATE, false)
      .AddBytes(CKA_LABEL, spec.label)
      .AddBytes(CKA_ID, id)
      .AddBool(CKA_VERIFY, sign)
      .AddBool(CKA_ENCRYPT, rsa && !sign)
      .AddBool(CKA_WRAP, false);
  if (rsa) {
    static constexpr unsigned char kF4[] = {0x01, 0x00, 0x01};
    public_template.Add(CKA_MODULUS_BITS, params.rsa_bits)
        .AddBytes(CKA_PUBLIC_EXPONENT, std::string(reinterpret_cast<const char*>(kF4), 3));
  } else {
    ASSIGN_OR_RETURN(std::string ec_params, EcParamsForCurve(params.curve));
    public_template.AddBytes(CKA_EC_PARAMS, ec_params);
  }
  AttributeTemplate private_template;
  private_template.Add(CKA_CLASS, CKO_PRIVATE_KEY)
      .Add(CKA_KEY_TYPE, rsa ? CKK_RSA : CKK_EC)
      .AddBool(CKA_TOKEN, true)
      .AddBool(CKA_PRIVATE, true)
      .AddBool(CKA_SENSITIVE, true)
      .AddBool(CKA_EXTRACTABLE, false)
      .AddBytes(CKA_LABEL, spec.label)
      .AddBytes(CKA_ID, id)
      .AddBool(CKA_SIGN, sign)
      .AddBool(CKA_SIGN_RECOVER, false)
      .AddBool(CKA_DECRYPT, rsa && !sign)
      .AddBool(CKA_UNWRAP, false)
      .AddBool(CKA_DERIVE, !rsa && !sign);

  // The uniqueness check and the generation happen as one step, so two
  // concurrent requests cannot both take a label.
  static std::mutex* generation_mutex = new std::mutex();
  std::lock_guard<std::mutex> generation_lock(*generation_mutex);
  CK_OBJECT_HANDLE public_key = CK_INVALID_HANDLE;
  CK_OBJECT_HANDLE private_key = CK_INVALID_HANDLE;
  {
    ASSIGN_OR_RETURN(SessionLease lease, token->Acquire(deadline));
    const Module& module = token->module();
    // A label names one private key; an id names one key pair and its
    // certificate, so a leftover public key or certificate blocks it too.
    for (auto [object_class, type, value, what] :
         {std::tuple{std::optional<CK_OBJECT_CLASS>(CKO_PRIVATE_KEY), CKA_LABEL, spec.label,
                     "a private key with this label"},
          std::tuple{std::optional<CK_OBJECT_CLASS>(), CKA_ID, id, "an object with this id"}}) {
      absl::StatusOr<bool> exists = Exists(module, lease.handle(), object_class, type, value);
      if (!exists.ok()) return token->ReportFailure(lease, exists.status());
      if (*exists) {
        return absl::AlreadyExistsError(
            absl::StrCat("token '", token->name(), "' already has ", what));
      }
    }
    CK_MECHANISM mechanism{rsa ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN, nullptr, 0};
    CK_RV rv = SIGNET_P11(module, GenerateKeyPair, lease.handle(), &mechanism,
                          public_template.data(), public_template.size(), private_template.data(),
                          private_template.size(), &public_key, &private_key);
    if (rv != CKR_OK) return token->ReportFailure(lease, "C_GenerateKeyPair", rv);
  }
  KeySelector selector;
  selector.id = id;
  absl::StatusOr<std::shared_ptr<TokenKey>> key =
      TokenKey::Load(token, selector, KeyPolicy{}, deadline);
  if (!key.ok()) {
    // A key pair nobody can use must not stay behind on the token.
    if (absl::StatusOr<SessionLease> lease = token->Acquire(deadline); lease.ok()) {
      (void)SIGNET_P11(token->module(), DestroyObject, lease->handle(), private_key);
      (void)SIGNET_P11(token->module(), DestroyObject, lease->handle(), public_key);
    }
  }
  return key;
}

absl::Status StoreCertificate(TokenKey& key, X509* certificate, absl::Time deadline) {
  if (certificate == nullptr) return absl::InvalidArgumentError("no certificate to store");
  if (!SamePublicKey(X509_get0_pubkey(certificate), key.public_key())) {
    return absl::InvalidArgumentError(
        absl::StrCat("the certificate is for another public key than key ", key.Describe()));
  }
  if (key.id().empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("key ", key.Describe(), " has no CKA_ID to store a certificate under"));
  }
  const std::string value = DerOf<X509, i2d_X509>(certificate);
  const std::string subject = DerOf<X509_NAME, i2d_X509_NAME>(X509_get_subject_name(certificate));
  const std::string issuer = DerOf<X509_NAME, i2d_X509_NAME>(X509_get_issuer_name(certificate));
  const std::string serial =
      DerOf<ASN1_INTEGER, i2d_ASN1_INTEGER>(X509_get0_serialNumber(certificate));
  if (value.empty() || subject.empty() || issuer.empty() || serial.empty()) {
    return absl::InvalidArgumentError("the certificate cannot be DER-encoded");
  }
  AttributeTemplate cert_template;
  cert_template.Add(CKA_CLASS, CKO_CERTIFICATE)
      .Add(CKA_CERTIFICATE_TYPE, CKC_X_509)
      .AddBool(CKA_TOKEN, true)
      .AddBool(CKA_PRIVATE, false)
      .AddBytes(CKA_LABEL, key.label())
      .AddBytes(CKA_ID, key.id())
      .AddBytes(CKA_SUBJECT, subject)
      .AddBytes(CKA_ISSUER, issuer)
      .AddBytes(CKA_SERIAL_NUMBER, serial)
      .AddBytes(CKA_VALUE, value);

  const std::shared_ptr<Token>& token = key.token();
  ASSIGN_OR_RETURN(SessionLease lease, token->Acquire(deadline));
  const Module& module = token->module();
  AttributeTemplate search;
  search.Add(CKA_CLASS, CKO_CERTIFICATE).AddBytes(CKA_ID, key.id());
  absl::StatusOr<std::vector<CK_OBJECT_HANDLE>> old =
      FindObjects(module, lease.handle(), search, 64);
  if (!old.ok()) return token->ReportFailure(lease, old.status());
  CK_OBJECT_HANDLE created = CK_INVALID_HANDLE;
  CK_RV rv = SIGNET_P11(module, CreateObject, lease.handle(), cert_template.data(),
                        cert_template.size(), &created);
  if (rv != CKR_OK) return token->ReportFailure(lease, "C_CreateObject", rv);
  // The new certificate is in place before the old ones go, so a failure
  // never leaves the key without one.
  for (CK_OBJECT_HANDLE object : *old) {
    rv = SIGNET_P11(module, DestroyObject, lease.handle(), object);
    if (rv != CKR_OK) return token->ReportFailure(lease, "C_DestroyObject", rv);
  }
  X509_up_ref(certificate);
  key.SetCertificate(X509Ptr(certificate));
  return absl::OkStatus();
}

}  // namespace signet
