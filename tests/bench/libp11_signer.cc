#include "tests/bench/libp11_signer.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "absl/strings/str_cat.h"
#include "common/ossl_ptr.h"
#include "tests/bench/smime_sign.h"

namespace signet::bench {
namespace {

absl::Status OpensslFailed(const char* what) {
  const unsigned long error = ERR_get_error();
  ERR_clear_error();
  char text[256];
  ERR_error_string_n(error, text, sizeof(text));
  return absl::InternalError(absl::StrCat(what, ": ", text));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Libp11Signer>> Libp11Signer::Open(
    const std::string& module_path, const std::string& token_label, const std::string& pin,
    const std::string& key_label, const std::string& certificate_pem) {
  std::unique_ptr<Libp11Signer> signer(new Libp11Signer());
  signer->ctx_ = PKCS11_CTX_new();
  if (signer->ctx_ == nullptr) return absl::InternalError("PKCS11_CTX_new");
  if (PKCS11_CTX_load(signer->ctx_, module_path.c_str()) != 0) {
    return absl::InternalError("PKCS11_CTX_load");
  }
  signer->loaded_ = true;
  if (PKCS11_enumerate_slots(signer->ctx_, &signer->slots_, &signer->slot_count_) != 0) {
    return absl::InternalError("PKCS11_enumerate_slots");
  }
  PKCS11_SLOT* slot = nullptr;
  for (unsigned int i = 0; i < signer->slot_count_; ++i) {
    PKCS11_SLOT* candidate = &signer->slots_[i];
    if (candidate->token != nullptr && token_label == candidate->token->label) {
      slot = candidate;
      break;
    }
  }
  if (slot == nullptr) return absl::NotFoundError(absl::StrCat("libp11: no token ", token_label));
  if (PKCS11_open_session(slot, 0) != 0 || PKCS11_login(slot, 0, pin.c_str()) != 0) {
    return absl::PermissionDeniedError("libp11: login failed");
  }
  PKCS11_KEY* keys = nullptr;
  unsigned int key_count = 0;
  if (PKCS11_enumerate_keys(slot->token, &keys, &key_count) != 0) {
    return absl::InternalError("PKCS11_enumerate_keys");
  }
  for (unsigned int i = 0; i < key_count; ++i) {
    if (keys[i].label != nullptr && key_label == keys[i].label) {
      signer->key_.reset(PKCS11_get_private_key(&keys[i]));
      break;
    }
  }
  if (!signer->key_) return absl::NotFoundError(absl::StrCat("libp11: no key ", key_label));
  BioPtr bio = ReadBio(certificate_pem);
  signer->certificate_.reset(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!signer->certificate_) return OpensslFailed("certificate");
  return signer;
}

Libp11Signer::~Libp11Signer() {
  // The key holds references into libp11's slot list: it goes first.
  key_.reset();
  if (slots_ != nullptr) PKCS11_release_all_slots(ctx_, slots_, slot_count_);
  if (loaded_) PKCS11_CTX_unload(ctx_);
  if (ctx_ != nullptr) PKCS11_CTX_free(ctx_);
}

absl::StatusOr<std::string> Libp11Signer::Sign(const std::string& mail) const {
  return SignSmimeDetached(certificate_.get(), key_.get(), mail);
}

}  // namespace signet::bench
