// How signet-token shows what a token tells it: device strings made safe for
// a terminal, and a key's type, usage, certificate, id and public key.
#ifndef SIGNET_TOKENS_TOOL_TOKEN_TEXT_H_
#define SIGNET_TOKENS_TOOL_TOKEN_TEXT_H_

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tokens/keys/algorithms.h"
#include "tokens/keys/key_locator.h"

namespace signet::tool {

// Token labels and the like are bytes from a device; control characters are
// escaped so that they cannot drive the operator's terminal.
std::string Printable(absl::string_view text);

// "EC P-256, 256 bits", "RSA, 2048 bits"; the bare type without a public key.
std::string TypeText(KeyType type, EVP_PKEY* public_key);

// "sign", "decrypt, unwrap", or "none".
std::string UsageText(const KeyAttributes& attributes);

// "subject CN=..., expires ...", or "none".
std::string CertificateText(X509* certificate);

// The CKA_ID in hex, or "none".
std::string HexId(absl::string_view id);

// "key LABEL", or "key (no label)".
std::string KeyHeading(absl::string_view label);

absl::StatusOr<std::string> PublicKeyPem(EVP_PKEY* key);

}  // namespace signet::tool

#endif  // SIGNET_TOKENS_TOOL_TOKEN_TEXT_H_
