#include "appliance/audit/input_digest.h"

#include <openssl/evp.h>

#include <cstdlib>

#include "appliance/audit/chain.h"

namespace signet::audit {
namespace {

// SHA-256 from the default provider fails only when OpenSSL cannot allocate:
// treated like operator new failing (as Sha256 does), so that callers on the
// hot path have no error to thread through every chunk.
void CheckOk(int result) {
  if (result != 1) std::abort();
}

}  // namespace

std::string InputDigest(absl::string_view input) { return Sha256(input); }

InputDigester::InputDigester() : context_(EVP_MD_CTX_new()) {
  if (!context_) std::abort();
  CheckOk(EVP_DigestInit_ex(context_.get(), EVP_sha256(), nullptr));
}

void InputDigester::Update(absl::string_view chunk) {
  CheckOk(EVP_DigestUpdate(context_.get(), chunk.data(), chunk.size()));
}

std::string InputDigester::Finish() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  CheckOk(EVP_DigestFinal_ex(context_.get(), digest, &size));
  CheckOk(EVP_DigestInit_ex(context_.get(), EVP_sha256(), nullptr));
  return std::string(reinterpret_cast<const char*>(digest), size);
}

}  // namespace signet::audit
