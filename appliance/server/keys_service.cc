#include "appliance/server/keys_service.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <functional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "appliance/server/admission.h"
#include "appliance/server/audited.h"
#include "appliance/server/call_deadline.h"
#include "appliance/server/call_log.h"
#include "appliance/server/exception_status.h"
#include "appliance/server/grpc_status.h"
#include "appliance/server/unary_call.h"
#include "common/der.h"
#include "common/status_macros.h"
#include "tokens/keys/keygen.h"

namespace signet::server {
namespace {

using config::v1::Operation;

v1::TokenState StateOf(TokenState state) {
  switch (state) {
    case TokenState::kReady:
      return v1::READY;
    case TokenState::kRecovering:
      return v1::RECOVERING;
    case TokenState::kAbsent:
      return v1::ABSENT;
    case TokenState::kLockedOut:
      return v1::LOCKED_OUT;
  }
  return v1::ERROR;
}

v1::KeyAlgorithm AlgorithmOf(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "RSA")) {
    switch (EVP_PKEY_get_bits(key)) {
      case 2048:
        return v1::RSA_2048;
      case 3072:
        return v1::RSA_3072;
      case 4096:
        return v1::RSA_4096;
    }
  } else if (EVP_PKEY_is_a(key, "EC")) {
    switch (EVP_PKEY_get_bits(key)) {
      case 256:
        return v1::EC_P256;
      case 384:
        return v1::EC_P384;
    }
  }
  return v1::KEY_ALGORITHM_UNSPECIFIED;
}

// What the API says of a configured key; without the token parts when it
// cannot be loaded now.
void Describe(const config::v1::Key& config, const ConfiguredKey* loaded, v1::Key* out) {
  out->set_name(config.name());
  out->set_token(config.token());
  out->set_purpose(config.purpose() == config::v1::DECRYPT ? v1::DECRYPT : v1::SIGN);
  if (loaded == nullptr) return;
  const TokenKey& key = *loaded->token_key;
  out->set_algorithm(AlgorithmOf(key.public_key()));
  out->set_public_key(DerOf<EVP_PKEY, i2d_PUBKEY>(key.public_key()));
  for (const X509Ptr& certificate : loaded->chain) {
    out->add_certificate_chain(DerOf<X509, i2d_X509>(certificate.get()));
  }
  out->set_label(key.label());
  out->set_id(key.id());
  const KeyAttributes& attributes = key.attributes();
  out->set_sensitive(attributes.sensitive);
  out->set_extractable(attributes.extractable);
  out->set_always_sensitive(attributes.always_sensitive);
  out->set_never_extractable(attributes.never_extractable);
  out->set_always_authenticate(attributes.always_authenticate);
}

const config::v1::Key* ConfigOf(Appliance& appliance, absl::string_view name) {
  for (const config::v1::Key& key : appliance.keys().config().keys()) {
    if (key.name() == name) return &key;
  }
  return nullptr;
}

absl::StatusOr<KeyAlgorithm> KeyAlgorithmOf(v1::KeyAlgorithm algorithm) {
  switch (algorithm) {
    case v1::RSA_2048:
      return KeyAlgorithm::kRsa2048;
    case v1::RSA_3072:
      return KeyAlgorithm::kRsa3072;
    case v1::RSA_4096:
      return KeyAlgorithm::kRsa4096;
    case v1::EC_P256:
      return KeyAlgorithm::kEcP256;
    case v1::EC_P384:
      return KeyAlgorithm::kEcP384;
    default:
      return absl::InvalidArgumentError("no key algorithm given");
  }
}

void FreeExtensions(STACK_OF(X509_EXTENSION) * extensions) {
  sk_X509_EXTENSION_pop_free(extensions, X509_EXTENSION_free);
}

// A PKCS#10 request for `key`, signed on its token.
absl::StatusOr<std::string> MakeCsr(const ConfiguredKey& key, OSSL_LIB_CTX* libctx,
                                    const v1::CreateCsrRequest& request) {
  OsslPtr<X509_NAME, X509_NAME_free> subject(X509_NAME_new());  // built from "CN=...,O=..." below
  // RFC 4514 order is most specific first; a certificate's name is written
  // most general first.
  std::vector<std::pair<std::string, std::string>> parts;
  for (absl::string_view part : absl::StrSplit(request.subject(), ',')) {
    const size_t equals = part.find('=');
    if (equals == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("subject part '", part, "' has no '='"));
    }
    parts.emplace_back(absl::StripAsciiWhitespace(part.substr(0, equals)),
                       absl::StripAsciiWhitespace(part.substr(equals + 1)));
  }
  if (parts.empty() || request.subject().empty()) {
    return absl::InvalidArgumentError("a certificate request needs a subject");
  }
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    if (X509_NAME_add_entry_by_txt(subject.get(), it->first.c_str(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(it->second.c_str()), -1,
                                   -1, 0) != 1) {
      ERR_clear_error();
      return absl::InvalidArgumentError(
          absl::StrCat("subject attribute '", it->first, "' is not known"));
    }
  }
  OsslPtr<X509_REQ, X509_REQ_free> csr(X509_REQ_new_ex(libctx, nullptr));
  if (!csr || X509_REQ_set_version(csr.get(), 0) != 1 ||
      X509_REQ_set_subject_name(csr.get(), subject.get()) != 1 ||
      X509_REQ_set_pubkey(csr.get(), key.token_key->public_key()) != 1) {
    ERR_clear_error();
    return absl::InternalError("cannot build the certificate request");
  }
  if (request.email_addresses_size() > 0) {
    OsslPtr<STACK_OF(X509_EXTENSION), FreeExtensions> extensions(sk_X509_EXTENSION_new_null());
    std::string names;
    for (const std::string& email : request.email_addresses()) {
      absl::StrAppend(&names, names.empty() ? "" : ",", "email:", email);
    }
    X509_EXTENSION* san =
        X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, names.c_str());
    if (san == nullptr || sk_X509_EXTENSION_push(extensions.get(), san) <= 0 ||
        X509_REQ_add_extensions(csr.get(), extensions.get()) != 1) {
      ERR_clear_error();
      return absl::InvalidArgumentError("the e-mail addresses do not make a subjectAltName");
    }
  }
  if (X509_REQ_sign(csr.get(), key.key.get(), EVP_sha256()) <= 0) {
    ERR_clear_error();
    return absl::UnavailableError("the token did not sign the certificate request");
  }
  return DerOf<X509_REQ, i2d_X509_REQ>(csr.get());
}

}  // namespace

grpc::ServerUnaryReactor* KeysService::ListTokens(grpc::CallbackServerContext* context,
                                                  const v1::ListTokensRequest* request,
                                                  v1::ListTokensResponse* response) {
  const UnaryCall call = StartCall(context, "ListTokens", *request, *response);
  absl::StatusOr<std::string> caller = Allowed(call, appliance_, "", config::v1::READ_KEYS);
  if (!caller.ok()) return Refuse(call, caller.status());
  Appliance& appliance = appliance_;
  return RunOn(call, appliance.CpuQueue(), "", [&appliance, response] {
    for (const TokenStatus& status : appliance.keys().tokens().List()) {
      v1::Token* token = response->add_tokens();
      token->set_name(status.name);
      token->set_label(status.description.label);
      token->set_serial(status.description.serial);
      token->set_model(status.description.model);
      token->set_manufacturer(status.description.manufacturer);
      token->set_state(StateOf(status.state));
      token->set_state_detail(status.detail);
      token->set_operations_in_flight(static_cast<uint32_t>(status.in_flight));
      token->set_max_in_flight(static_cast<uint32_t>(appliance.TokenQueue(status.name).workers()));
      if (absl::StatusOr<std::shared_ptr<Token>> opened =
              appliance.keys().tokens().Get(status.name);
          opened.ok()) {
        for (const auto& [function, count] : (*opened)->module().counters().Snapshot()) {
          (*token->mutable_pkcs11_calls())[function] = count;
        }
      }
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* KeysService::ListKeys(grpc::CallbackServerContext* context,
                                                const v1::ListKeysRequest* request,
                                                v1::ListKeysResponse* response) {
  const UnaryCall call = StartCall(context, "ListKeys", *request, *response);
  absl::StatusOr<std::string> caller = Allowed(call, appliance_, "", config::v1::READ_KEYS);
  if (!caller.ok()) return Refuse(call, caller.status());
  Appliance& appliance = appliance_;
  const std::string token = request->token();
  return RunOn(call, appliance.CpuQueue(), "", [&appliance, caller = *caller, response, token] {
    for (const config::v1::Key& key : appliance.keys().config().keys()) {
      if (!token.empty() && key.token() != token) continue;
      // Only the keys the caller may read by name (GetKey) are listed.
      if (!appliance.authorizer().Check(caller, key.name(), config::v1::READ_KEYS).ok()) continue;
      absl::StatusOr<std::shared_ptr<const ConfiguredKey>> loaded =
          appliance.keys().Get(key.name());
      Describe(key, loaded.ok() ? loaded->get() : nullptr, response->add_keys());
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* KeysService::GetKey(grpc::CallbackServerContext* context,
                                              const v1::GetKeyRequest* request, v1::Key* response) {
  const UnaryCall call = StartCall(context, "GetKey", *request, *response);
  absl::StatusOr<std::string> caller =
      Allowed(call, appliance_, request->name(), config::v1::READ_KEYS);
  if (!caller.ok()) return Refuse(call, caller.status());
  const config::v1::Key* config = ConfigOf(appliance_, request->name());
  if (config == nullptr) {
    return Refuse(call, absl::NotFoundError(absl::StrCat("no key named '", request->name(), "'")));
  }
  Appliance& appliance = appliance_;
  return RunOn(call, appliance.CpuQueue(), config->token(), [&appliance, config, response] {
    ASSIGN_OR_RETURN(std::shared_ptr<const ConfiguredKey> loaded,
                     appliance.keys().Get(config->name()));
    Describe(*config, loaded.get(), response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* KeysService::GenerateKey(grpc::CallbackServerContext* context,
                                                   const v1::GenerateKeyRequest* request,
                                                   v1::GeneratedKey* response) {
  const UnaryCall call = StartCall(context, "GenerateKey", *request, *response);
  // A new key belongs to no grant yet: only who administers every key ("*")
  // may make one, on any token.
  absl::StatusOr<std::string> caller = Allowed(call, appliance_, "*", config::v1::ADMINISTER_KEYS);
  if (!caller.ok()) return Refuse(call, caller.status());
  // The key to be: named as its audit record names it.
  call.log->set_key(absl::StrCat(request->token(), "/", request->label()));
  absl::StatusOr<KeyAlgorithm> algorithm = KeyAlgorithmOf(request->algorithm());
  if (!algorithm.ok()) return Refuse(call, algorithm.status());
  if (request->purpose() == v1::KEY_PURPOSE_UNSPECIFIED || request->label().empty()) {
    return Refuse(call, absl::InvalidArgumentError("a new key needs a label and a purpose"));
  }
  absl::StatusOr<std::shared_ptr<Token>> token = appliance_.keys().tokens().Get(request->token());
  if (!token.ok()) return Refuse(call, token.status());
  KeyGenSpec spec{
      .label = request->label(),
      .id = request->id(),
      .algorithm = *algorithm,
      .purpose = request->purpose() == v1::DECRYPT ? KeyPurpose::kDecrypt : KeyPurpose::kSign};
  const absl::Time deadline = DeadlineOf(*context);
  Appliance& appliance = appliance_;
  return RunOn(call, appliance_.TokenQueue(request->token()), request->token(),
               [&appliance, caller = *caller, token = *token, spec, deadline, response,
                name = request->token()] {
                 ASSIGN_OR_RETURN(std::shared_ptr<TokenKey> key,
                                  Audited<std::shared_ptr<TokenKey>>(
                                      appliance, caller, config::v1::ADMINISTER_KEYS,
                                      absl::StrCat(name, "/", spec.label), spec.label,
                                      [&] { return GenerateKeyPair(token, spec, deadline); }));
                 response->set_token(name);
                 response->set_label(key->label());
                 response->set_id(key->id());
                 response->set_public_key(DerOf<EVP_PKEY, i2d_PUBKEY>(key->public_key()));
                 return absl::OkStatus();
               });
}

grpc::ServerUnaryReactor* KeysService::CreateCsr(grpc::CallbackServerContext* context,
                                                 const v1::CreateCsrRequest* request,
                                                 v1::CreateCsrResponse* response) {
  const UnaryCall call = StartCall(context, "CreateCsr", *request, *response);
  absl::StatusOr<std::string> caller =
      Allowed(call, appliance_, request->key(), config::v1::ADMINISTER_KEYS);
  if (!caller.ok()) return Refuse(call, caller.status());
  const config::v1::Key* config = ConfigOf(appliance_, request->key());
  if (config == nullptr) {
    return Refuse(call, absl::NotFoundError(absl::StrCat("no key named '", request->key(), "'")));
  }
  if (config->purpose() != config::v1::SIGN) {
    // The token signs the request, and a decryption key does not sign.
    return Refuse(
        call, absl::FailedPreconditionError("only a signing key can sign its certificate request"));
  }
  Appliance& appliance = appliance_;
  return RunOn(call, appliance.TokenQueue(config->token()), config->token(),
               [&appliance, caller = *caller, config, request, response] {
                 ASSIGN_OR_RETURN(std::shared_ptr<const ConfiguredKey> key,
                                  appliance.keys().Get(config->name()));
                 ASSIGN_OR_RETURN(std::string csr,
                                  Audited<std::string>(
                                      appliance, caller, config::v1::ADMINISTER_KEYS,
                                      config->name(), request->subject(), [&] {
                                        return MakeCsr(*key, appliance.keys().libctx(), *request);
                                      }));
                 response->set_csr(std::move(csr));
                 return absl::OkStatus();
               });
}

grpc::ServerUnaryReactor* KeysService::ImportCertificate(
    grpc::CallbackServerContext* context, const v1::ImportCertificateRequest* request,
    v1::Key* response) {
  const UnaryCall call = StartCall(context, "ImportCertificate", *request, *response);
  absl::StatusOr<std::string> caller =
      Allowed(call, appliance_, request->key(), config::v1::ADMINISTER_KEYS);
  if (!caller.ok()) return Refuse(call, caller.status());
  const config::v1::Key* config = ConfigOf(appliance_, request->key());
  if (config == nullptr) {
    return Refuse(call, absl::NotFoundError(absl::StrCat("no key named '", request->key(), "'")));
  }
  const auto* cursor = reinterpret_cast<const unsigned char*>(request->certificate().data());
  auto certificate = std::make_shared<X509Ptr>(
      d2i_X509(nullptr, &cursor, static_cast<long>(request->certificate().size())));
  if (!*certificate) {
    ERR_clear_error();
    return Refuse(call, absl::InvalidArgumentError("the certificate is not DER X.509"));
  }
  Appliance& appliance = appliance_;
  const absl::Time deadline = DeadlineOf(*context);
  return RunOn(
      call, appliance.TokenQueue(config->token()), config->token(),
      [&appliance, caller = *caller, config, certificate, deadline, response,
       der = request->certificate()] {
        ASSIGN_OR_RETURN(std::shared_ptr<const ConfiguredKey> key,
                         appliance.keys().Get(config->name()));
        RETURN_IF_ERROR(Audited<bool>(appliance, caller, config::v1::ADMINISTER_KEYS,
                                      config->name(), der, [&]() -> absl::StatusOr<bool> {
                                        RETURN_IF_ERROR(StoreCertificate(
                                            *key->token_key, certificate->get(), deadline));
                                        return true;
                                      }));
        // A chain from the token is read again; one from a file stays.
        appliance.keys().Forget(config->name());
        ASSIGN_OR_RETURN(std::shared_ptr<const ConfiguredKey> reloaded,
                         appliance.keys().Get(config->name()));
        Describe(*config, reloaded.get(), response);
        return absl::OkStatus();
      });
}

}  // namespace signet::server
