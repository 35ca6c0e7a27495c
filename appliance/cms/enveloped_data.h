// CMS encryption to recipient certificates (RFC 5652 EnvelopedData, RFC 5083
// AuthEnvelopedData): AES-GCM by default, AES-CBC for older clients; RSA
// key transport with OAEP (SHA-256) by default or PKCS#1 v1.5, and ECDH key
// agreement (RFC 5753, X9.63 KDF with SHA-256, AES key wrap) for EC
// certificates.
#ifndef SIGNET_APPLIANCE_CMS_ENVELOPED_DATA_H_
#define SIGNET_APPLIANCE_CMS_ENVELOPED_DATA_H_

#include <openssl/x509.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "appliance/cms/cms_context.h"
#include "appliance/cms/envelope_splice.h"

namespace signet::cms {

enum class ContentCipher {
  kAes256Gcm,  // AuthEnvelopedData: tampering is detected (RFC 5084)
  kAes128Gcm,
  kAes256Cbc,  // EnvelopedData: what every S/MIME client reads
  kAes128Cbc,
};

// Whether the cipher makes AuthEnvelopedData.
bool IsAuthenticated(ContentCipher cipher);

enum class RsaKeyTransport {
  kOaepSha256,  // RSAES-OAEP, SHA-256 and MGF1-SHA-256 (RFC 8017, RFC 4055)
  kPkcs1,       // RSAES-PKCS1-v1_5, for clients that cannot do OAEP
};

struct EncryptOptions {
  ContentCipher cipher = ContentCipher::kAes256Gcm;
  RsaKeyTransport rsa_key_transport = RsaKeyTransport::kOaepSha256;
  // Recipient certificates must be valid at this time; absent: now.
  std::optional<absl::Time> at;
};

// Why the certificate's key cannot receive a content-encryption key: neither
// RSA nor EC, or a keyUsage without keyEncipherment (RSA key transport) or
// keyAgreement (EC key agreement). Absent: it can.
std::optional<std::string> RecipientKeyProblem(X509* certificate);

// Encrypts `content` (a canonical MIME entity) to every recipient: DER
// EnvelopedData or AuthEnvelopedData. InvalidArgument, naming the
// certificate, for a recipient that is expired or not yet valid, whose key
// is neither RSA nor EC, or whose keyUsage forbids the key's use here
// (keyEncipherment for RSA, keyAgreement for EC).
absl::StatusOr<std::string> Encrypt(const CmsContext& context, absl::string_view content,
                                    const std::vector<X509*>& recipients,
                                    const EncryptOptions& options);
// The same for content the caller gives up: freed once it is encrypted,
// before the structure is encoded, so that a large mail is not held as
// plaintext, ciphertext and DER at once.
absl::StatusOr<std::string> Encrypt(const CmsContext& context, std::string&& content,
                                    const std::vector<X509*>& recipients,
                                    const EncryptOptions& options);

// The same for content that is `head`, `body` and `tail` one after the
// other, where `body` is the caller's to overwrite: its ciphertext is
// written over it as it is encrypted (a byte only once read), and the
// structure is encoded without it, so that a large mail is held once, not
// as plaintext, ciphertext and DER. The DER is the result's prefix, then
// the bytes now in `body`, then its suffix (the ciphertext of `head` ends
// the prefix; that of `tail`, and a CBC cipher's last block, which does not
// fit over the body, start the suffix). The same errors as Encrypt; after
// an error `body` holds garbage.
absl::StatusOr<EnvelopeAround> EncryptInPlace(const CmsContext& context, absl::string_view head,
                                              absl::Span<char> body, absl::string_view tail,
                                              const std::vector<X509*>& recipients,
                                              const EncryptOptions& options);

}  // namespace signet::cms

#endif  // SIGNET_APPLIANCE_CMS_ENVELOPED_DATA_H_
