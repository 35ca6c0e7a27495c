#include "tokens/keys/token_key.h"

#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "tokens/keys/oaep.h"
#include "tokens/keys/public_key.h"
#include "tokens/keys/signature_check.h"
#include "tokens/keys/signature_encoding.h"
#include "tokens/objects.h"

namespace signet {
namespace {

CK_MECHANISM_TYPE HashMechanism(HashAlgorithm hash) {
  switch (hash) {
    case HashAlgorithm::kSha256:
      return CKM_SHA256;
    case HashAlgorithm::kSha384:
      return CKM_SHA384;
    case HashAlgorithm::kSha512:
      return CKM_SHA512;
  }
  return CKM_SHA256;
}

CK_RSA_PKCS_MGF_TYPE Mgf1(HashAlgorithm hash) {
  switch (hash) {
    case HashAlgorithm::kSha256:
      return CKG_MGF1_SHA256;
    case HashAlgorithm::kSha384:
      return CKG_MGF1_SHA384;
    case HashAlgorithm::kSha512:
      return CKG_MGF1_SHA512;
  }
  return CKG_MGF1_SHA256;
}

// The SHA-2 hash of an OAEP scheme (for OAEP and MGF1 alike); nullopt for
// PKCS#1 v1.5 and for SHA-1, which HashAlgorithm leaves out because Signet
// never signs with it.
std::optional<HashAlgorithm> OaepHash(DecryptionScheme scheme) {
  switch (scheme) {
    case DecryptionScheme::kRsaOaepSha256:
      return HashAlgorithm::kSha256;
    case DecryptionScheme::kRsaOaepSha384:
      return HashAlgorithm::kSha384;
    case DecryptionScheme::kRsaOaepSha512:
      return HashAlgorithm::kSha512;
    case DecryptionScheme::kRsaPkcs1:
    case DecryptionScheme::kRsaOaepSha1:
      return std::nullopt;
  }
  return std::nullopt;
}

// Destroys a session object (a derived secret) on every path out.
class SessionObjectGuard {
 public:
  SessionObjectGuard(const Module& module, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object)
      : module_(module), session_(session), object_(object) {}
  ~SessionObjectGuard() { (void)SIGNET_P11(module_, DestroyObject, session_, object_); }
  SessionObjectGuard(const SessionObjectGuard&) = delete;
  SessionObjectGuard& operator=(const SessionObjectGuard&) = delete;

 private:
  const Module& module_;
  CK_SESSION_HANDLE session_;
  CK_OBJECT_HANDLE object_;
};

}  // namespace

// The part every operation with the key shares (PKCS#11 v3.0 section 5.2:
// init, then for a CKA_ALWAYS_AUTHENTICATE key the context-specific login,
// then the call): a pooled session, the key's handle for the token's current
// generation, and for such a key the per-key lock held from the init to the
// call's end. Every failure goes through Token::ReportFailure, which decides
// whether the session or the token needs recovery.
class TokenKey::Operation {
 public:
  static absl::StatusOr<Operation> Begin(const TokenKey& key, absl::Time deadline) {
    ASSIGN_OR_RETURN(SessionLease lease, key.token_->Acquire(deadline));
    absl::StatusOr<CK_OBJECT_HANDLE> handle = key.Handle(lease);
    if (!handle.ok()) return key.token_->ReportFailure(lease, handle.status());
    return Operation(key, std::move(lease), *handle);
  }

  Operation(Operation&&) = default;

  const Module& module() const { return key_->token_->module(); }
  CK_SESSION_HANDLE session() const { return lease_.handle(); }
  CK_OBJECT_HANDLE key_handle() const { return handle_; }

  // After C_*Init returned `rv`: the failure reported, or for an
  // always-authenticate key the PIN presented.
  absl::Status Initialized(absl::string_view function, CK_RV rv) {
    if (rv != CKR_OK) return key_->token_->ReportFailure(lease_, function, rv);
    if (!key_->attributes_.always_authenticate) return absl::OkStatus();
    absl::Status login = key_->token_->LoginForOperation(lease_);
    if (!login.ok()) return key_->token_->ReportFailure(lease_, std::move(login));
    return absl::OkStatus();
  }

  // After the operation's call returned `rv`: the key is free for the next
  // operation's PIN, and a failure is reported.
  absl::Status Called(absl::string_view function, CK_RV rv) {
    if (per_operation_login_.owns_lock()) per_operation_login_.unlock();
    if (rv != CKR_OK) return key_->token_->ReportFailure(lease_, function, rv);
    return absl::OkStatus();
  }

  // A fault found after the call (a signature that does not verify).
  absl::Status Fail(absl::Status status) {
    return key_->token_->ReportFailure(lease_, std::move(status));
  }

 private:
  Operation(const TokenKey& key, SessionLease lease, CK_OBJECT_HANDLE handle)
      : key_(&key), lease_(std::move(lease)), handle_(handle) {
    if (key.attributes_.always_authenticate) {
      per_operation_login_ = std::unique_lock<std::mutex>(key.always_authenticate_mutex_);
    }
  }

  const TokenKey* key_;
  SessionLease lease_;
  CK_OBJECT_HANDLE handle_;
  // Declared after the lease: released before the session goes back.
  std::unique_lock<std::mutex> per_operation_login_;
};

TokenKey::TokenKey(std::shared_ptr<Token> token, KeySelector selector)
    : token_(std::move(token)), selector_(std::move(selector)) {}

absl::StatusOr<std::shared_ptr<TokenKey>> TokenKey::Load(std::shared_ptr<Token> token,
                                                         const KeySelector& selector,
                                                         const KeyPolicy& policy,
                                                         absl::Time deadline) {
  if (token == nullptr) return absl::InvalidArgumentError("no token for the key");
  ASSIGN_OR_RETURN(SessionLease lease, token->Acquire(deadline));
  // Read before the search: a fault during it makes the handle stale at once.
  const uint64_t generation = token->generation();
  absl::StatusOr<LocatedKey> located = LocateKey(token->module(), lease.handle(), selector);
  if (!located.ok()) return token->ReportFailure(lease, located.status());
  lease.Release();

  std::string description = absl::StrCat(selector.Describe(), " on token '", token->name(), "'");
  ASSIGN_OR_RETURN(const bool born_on_token,
                   CheckKeyPolicy(located->attributes, policy, description));
  if (!born_on_token) {
    Log(LogLevel::kWarning,
        absl::StrCat("using imported private key ", description,
                     " (allow_imported_keys is set): it may have existed outside the token"));
  }

  std::shared_ptr<TokenKey> key(new TokenKey(std::move(token), selector));
  key->label_ = located->label;
  key->id_ = located->id;
  key->type_ = located->type;
  key->attributes_ = located->attributes;
  key->imported_ = !born_on_token;
  if (key->attributes_.always_authenticate) {
    Log(LogLevel::kInfo,
        absl::StrCat("key ", description,
                     " is CKA_ALWAYS_AUTHENTICATE: its token's PIN is presented before every "
                     "operation with it"));
  }
  key->public_key_ = std::move(located->public_key);
  key->certificate_ = std::move(located->certificate);
  key->handle_.store(located->handle);
  key->handle_generation_.store(generation, std::memory_order_release);
  return key;
}

int TokenKey::bits() const { return EVP_PKEY_get_bits(public_key_.get()); }

std::string TokenKey::Describe() const {
  return absl::StrCat(selector_.Describe(), " on token '", token_->name(), "'");
}

X509Ptr TokenKey::certificate() const {
  std::lock_guard<std::mutex> lock(certificate_mutex_);
  if (certificate_) X509_up_ref(certificate_.get());
  return X509Ptr(certificate_.get());
}

void TokenKey::SetCertificate(X509Ptr certificate) {
  std::lock_guard<std::mutex> lock(certificate_mutex_);
  certificate_ = std::move(certificate);
}

absl::StatusOr<CK_OBJECT_HANDLE> TokenKey::Handle(const SessionLease& lease) const {
  const uint64_t generation = token_->generation();
  if (handle_generation_.load(std::memory_order_acquire) == generation) return handle_.load();

  std::lock_guard<std::mutex> lock(refind_mutex_);
  if (handle_generation_.load(std::memory_order_acquire) == generation) return handle_.load();
  absl::StatusOr<LocatedKey> located = LocateKey(token_->module(), lease.handle(), selector_);
  if (!located.ok()) {
    if (absl::IsNotFound(located.status())) {
      return absl::FailedPreconditionError(
          absl::StrCat("key ", Describe(), " is no longer on the token"));
    }
    return located.status();
  }
  // A stale handle, or a different card in the reader, may name another key.
  if (!SamePublicKey(located->public_key.get(), public_key_.get())) {
    Log(LogLevel::kError,
        absl::StrCat("key ", Describe(), " no longer matches its public key; refusing to use it"));
    return absl::FailedPreconditionError(
        absl::StrCat("key ", Describe(),
                     " no longer matches its public key (was the token replaced?); refusing "
                     "to use it"));
  }
  handle_.store(located->handle);
  handle_generation_.store(generation, std::memory_order_release);
  return located->handle;
}

absl::StatusOr<std::string> TokenKey::Sign(const SignOptions& options, absl::string_view digest,
                                           absl::Time deadline) const {
  absl::StatusOr<std::string> signature = SignOnce(options, digest, deadline);
  if (!signature.ok() && IsRetryable(signature.status()) && absl::Now() < deadline) {
    signature = SignOnce(options, digest, deadline);
  }
  return signature;
}

absl::StatusOr<std::string> TokenKey::SignOnce(const SignOptions& options, absl::string_view digest,
                                               absl::Time deadline) const {
  if (digest.size() != DigestLength(options.hash)) {
    return absl::InvalidArgumentError(absl::StrCat("a ", HashName(options.hash), " digest is ",
                                                   DigestLength(options.hash), " bytes, not ",
                                                   digest.size()));
  }
  const KeyType needed = options.scheme == SignatureScheme::kEcdsa ? KeyType::kEc : KeyType::kRsa;
  if (type_ != needed) {
    return absl::InvalidArgumentError(absl::StrCat(SchemeName(options.scheme), " needs an ",
                                                   KeyTypeName(needed), " key; key ", Describe(),
                                                   " is ", KeyTypeName(type_)));
  }
  if (!attributes_.sign) {
    return absl::PermissionDeniedError(
        absl::StrCat("key ", Describe(), " is not a signing key (CKA_SIGN is false)"));
  }

  std::string data;
  CK_MECHANISM mechanism{};
  CK_RSA_PKCS_PSS_PARAMS pss{};
  SignatureCheck check{.scheme = options.scheme, .hash = options.hash};
  switch (options.scheme) {
    case SignatureScheme::kRsaPkcs1: {
      ASSIGN_OR_RETURN(data, EncodeDigestInfo(options.hash, digest));
      mechanism.mechanism = CKM_RSA_PKCS;
      break;
    }
    case SignatureScheme::kRsaPss: {
      const int max_salt =
          EVP_PKEY_get_size(public_key_.get()) - static_cast<int>(digest.size()) - 2;
      const int salt =
          options.pss_salt_length < 0 ? static_cast<int>(digest.size()) : options.pss_salt_length;
      if (salt > max_salt) {
        return absl::InvalidArgumentError(
            absl::StrCat("an RSA-PSS salt of ", salt, " bytes does not fit key ", Describe()));
      }
      pss.hashAlg = HashMechanism(options.hash);
      pss.mgf = Mgf1(options.hash);
      pss.sLen = static_cast<CK_ULONG>(salt);
      mechanism = CK_MECHANISM{CKM_RSA_PKCS_PSS, &pss, sizeof(pss)};
      check.pss_salt_length = salt;
      data = std::string(digest);
      break;
    }
    case SignatureScheme::kEcdsa:
      mechanism.mechanism = CKM_ECDSA;
      data = std::string(digest);
      break;
  }

  ASSIGN_OR_RETURN(Operation operation, Operation::Begin(*this, deadline));
  RETURN_IF_ERROR(operation.Initialized(
      "C_SignInit", SIGNET_P11(operation.module(), SignInit, operation.session(), &mechanism,
                               operation.key_handle())));
  // Sized from the key, so the steady state needs no length query.
  CK_ULONG length = type_ == KeyType::kRsa
                        ? static_cast<CK_ULONG>(EVP_PKEY_get_size(public_key_.get()))
                        : static_cast<CK_ULONG>(2 * EcFieldBytes(public_key_.get()));
  std::string signature(length, '\0');
  RETURN_IF_ERROR(operation.Called(
      "C_Sign",
      SIGNET_P11(operation.module(), Sign, operation.session(),
                 reinterpret_cast<CK_BYTE*>(data.data()), static_cast<CK_ULONG>(data.size()),
                 reinterpret_cast<CK_BYTE*>(signature.data()), &length)));
  signature.resize(length);
  if (type_ == KeyType::kEc) {
    ASSIGN_OR_RETURN(signature, EcdsaRawToDer(signature));
  }

  // Never release a signature that does not verify: it may come from another
  // card in the reader, or from a faulty RSA-CRT computation, which gives the
  // private key away to anyone holding the signature and the public key.
  // ECDSA checks cost twice the signature and guard against less; a token's
  // options say whether to make them.
  if (type_ == KeyType::kEc && !token_->options().verify_ecdsa) return signature;
  absl::StatusOr<bool> verified = SignatureVerifies(public_key_.get(), check, digest, signature);
  if (!verified.ok()) {
    return absl::InternalError(absl::StrCat("cannot check the signature of key ", Describe(),
                                            " before releasing it: ", verified.status().message()));
  }
  if (!*verified) {
    const std::string message = absl::StrCat(
        "the token produced an ", SchemeName(options.scheme),
        " signature that does not verify with the public key of key ", Describe(),
        " (was the card replaced, or is the token faulty?); the signature was discarded and the "
        "token is re-opened, its keys checked again");
    Log(LogLevel::kError, message);
    // A token fault: the session is dropped and the token recovers, so the
    // next use finds the key again and checks it against its public key.
    (void)operation.Fail(AttachCkRv(absl::InternalError(message), CKR_DEVICE_ERROR));
    return absl::InternalError(message);
  }
  return signature;
}

absl::StatusOr<SecretBytes> TokenKey::Decrypt(DecryptionScheme scheme, absl::string_view ciphertext,
                                              absl::Time deadline) const {
  if (type_ != KeyType::kRsa) {
    return absl::InvalidArgumentError(
        absl::StrCat(SchemeName(scheme), " needs an RSA key; key ", Describe(), " is EC"));
  }
  if (!attributes_.decrypt) {
    return absl::PermissionDeniedError(
        absl::StrCat("key ", Describe(), " is not a decryption key (CKA_DECRYPT is false)"));
  }
  const size_t modulus_bytes = static_cast<size_t>(EVP_PKEY_get_size(public_key_.get()));
  if (ciphertext.size() != modulus_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("the ciphertext has ", ciphertext.size(),
                                                   " bytes; key ", Describe(), " takes ",
                                                   modulus_bytes));
  }
  CK_MECHANISM mechanism{CKM_RSA_PKCS, nullptr, 0};
  CK_RSA_PKCS_OAEP_PARAMS oaep{CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, nullptr, 0};
  const std::optional<HashAlgorithm> oaep_hash = OaepHash(scheme);
  const bool is_oaep = scheme != DecryptionScheme::kRsaPkcs1;
  if (oaep_hash.has_value()) {
    oaep.hashAlg = HashMechanism(*oaep_hash);
    oaep.mgf = Mgf1(*oaep_hash);
  }
  const uint32_t scheme_bit = uint32_t{1} << static_cast<int>(scheme);
  bool unpad_oaep_here =
      is_oaep && (oaep_unpadded_here_.load(std::memory_order_relaxed) & scheme_bit) != 0;
  if (is_oaep) mechanism = CK_MECHANISM{CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep)};
  if (unpad_oaep_here) mechanism = CK_MECHANISM{CKM_RSA_X_509, nullptr, 0};

  ASSIGN_OR_RETURN(Operation operation, Operation::Begin(*this, deadline));
  const Module& module = operation.module();
  CK_RV rv =
      SIGNET_P11(module, DecryptInit, operation.session(), &mechanism, operation.key_handle());
  if (is_oaep && !unpad_oaep_here &&
      (rv == CKR_MECHANISM_INVALID || rv == CKR_MECHANISM_PARAM_INVALID ||
       rv == CKR_ARGUMENTS_BAD)) {
    // SoftHSM 2.6 and some HSMs do OAEP with SHA-1 only. The key still
    // decrypts on the token (raw RSA); only the OAEP decoding, which needs no
    // key, runs here, in OpenSSL's constant-time code. The refusal depends
    // on the mechanism parameters alone, never on the ciphertext (C_Decrypt
    // has not seen it yet), so falling back tells a sender nothing.
    oaep_unpadded_here_.fetch_or(scheme_bit, std::memory_order_relaxed);
    Log(LogLevel::kInfo, absl::StrCat("token '", token_->name(), "' lacks ", SchemeName(scheme),
                                      " (", CkrName(rv), "); key ", Describe(),
                                      " decrypts with raw RSA and Signet removes the OAEP "
                                      "padding"));
    unpad_oaep_here = true;
    mechanism = CK_MECHANISM{CKM_RSA_X_509, nullptr, 0};
    rv = SIGNET_P11(module, DecryptInit, operation.session(), &mechanism, operation.key_handle());
  }
  RETURN_IF_ERROR(operation.Initialized("C_DecryptInit", rv));
  SecretBytes output(modulus_bytes);
  CK_ULONG length = static_cast<CK_ULONG>(output.size());
  std::string input(ciphertext);
  RETURN_IF_ERROR(operation.Called(
      "C_Decrypt",
      SIGNET_P11(module, Decrypt, operation.session(), reinterpret_cast<CK_BYTE*>(input.data()),
                 static_cast<CK_ULONG>(input.size()), output.data(), &length)));
  output.resize(length);
  if (!unpad_oaep_here) return output;
  return RemoveOaepPadding(scheme, output, modulus_bytes);
}

absl::StatusOr<SecretBytes> TokenKey::DeriveEcdh(absl::string_view peer_point,
                                                 absl::Time deadline) const {
  if (type_ != KeyType::kEc) {
    return absl::InvalidArgumentError(
        absl::StrCat("ECDH needs an EC key; key ", Describe(), " is RSA"));
  }
  if (!attributes_.derive) {
    return absl::PermissionDeniedError(
        absl::StrCat("key ", Describe(), " is not a key-agreement key (CKA_DERIVE is false)"));
  }
  if (attributes_.always_authenticate) {
    // Decided, not left to the module: C_DeriveKey has no init after which
    // the PIN could be presented, and a derivation attempted without it
    // would, on a card, consume a PIN check another operation presented.
    return absl::FailedPreconditionError(absl::StrCat(
        "key ", Describe(),
        " needs its PIN before every operation (CKA_ALWAYS_AUTHENTICATE), which PKCS#11 "
        "offers for signing and decryption only; it cannot do ECDH"));
  }
  const int field_bytes = EcFieldBytes(public_key_.get());
  std::string point(peer_point);
  if (point.size() != static_cast<size_t>(1 + 2 * field_bytes) || point[0] != 0x04) {
    return absl::InvalidArgumentError(
        absl::StrCat("the peer's public point must be an uncompressed point of ",
                     1 + 2 * field_bytes, " bytes for key ", Describe()));
  }
  CK_ECDH1_DERIVE_PARAMS params{CKD_NULL, 0, nullptr, static_cast<CK_ULONG>(point.size()),
                                reinterpret_cast<CK_BYTE*>(point.data())};
  CK_MECHANISM mechanism{CKM_ECDH1_DERIVE, &params, sizeof(params)};
  AttributeTemplate secret_template;
  // A session object that can be read once and is destroyed right after.
  secret_template.Add(CKA_CLASS, CKO_SECRET_KEY)
      .Add(CKA_KEY_TYPE, CKK_GENERIC_SECRET)
      .AddBool(CKA_TOKEN, false)
      .AddBool(CKA_SENSITIVE, false)
      .AddBool(CKA_EXTRACTABLE, true)
      .Add(CKA_VALUE_LEN, static_cast<CK_ULONG>(field_bytes));

  ASSIGN_OR_RETURN(Operation operation, Operation::Begin(*this, deadline));
  const Module& module = operation.module();
  CK_OBJECT_HANDLE derived = CK_INVALID_HANDLE;
  RETURN_IF_ERROR(operation.Called(
      "C_DeriveKey",
      SIGNET_P11(module, DeriveKey, operation.session(), &mechanism, operation.key_handle(),
                 secret_template.data(), secret_template.size(), &derived)));
  SessionObjectGuard guard(module, operation.session(), derived);
  SecretBytes secret(static_cast<size_t>(field_bytes));
  CK_ATTRIBUTE value{CKA_VALUE, secret.data(), static_cast<CK_ULONG>(secret.size())};
  RETURN_IF_ERROR(operation.Called(
      "C_GetAttributeValue",
      SIGNET_P11(module, GetAttributeValue, operation.session(), derived, &value, 1)));
  secret.resize(value.ulValueLen);
  return secret;
}

}  // namespace signet
