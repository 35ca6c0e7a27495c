// CMS SignedData (RFC 5652) as S/MIME wants it (RFC 8551 §2.5): signed
// attributes contentType, messageDigest, signingTime, ESS
// signingCertificateV2 (RFC 5035) and SMIMECapabilities, the signer's
// certificate and chain included.
//
// Three forms: detached over content, attached (opaque) with the content
// inside, and detached from a digest alone, for callers that keep the
// content to themselves. The last produces the same structure as the first:
// a signature from SignDigest(H(content)) verifies against the content
// exactly as one from SignDetached(content) does.
#ifndef SIGNET_APPLIANCE_CMS_SIGNED_DATA_H_
#define SIGNET_APPLIANCE_CMS_SIGNED_DATA_H_

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "appliance/cms/cms_context.h"
#include "tokens/keys/algorithms.h"

namespace signet::cms {

// The token layer's hash algorithms: SHA-256, SHA-384, SHA-512.
using DigestAlgorithm = HashAlgorithm;

// "sha-256": the multipart/signed micalg parameter (RFC 8551 §3.5.3.2).
const char* Micalg(DigestAlgorithm digest);

class SignerTemplateCache;  // signed_data_template.h

struct Signer {
  // A token key through Signet's provider (or any EVP_PKEY in the context's
  // library context). Not owned.
  EVP_PKEY* key = nullptr;
  // The signer's certificate; its public key must be the key's.
  X509* certificate = nullptr;
  // Intermediate CAs to include so that verifiers can build the chain.
  std::vector<X509*> chain;
  // Where this signer's SignedData templates are kept between signatures,
  // owned with the key and certificates above (signed_data_template.h);
  // null: each signature makes its own. Not owned.
  SignerTemplateCache* templates = nullptr;
};

struct SignOptions {
  DigestAlgorithm digest = DigestAlgorithm::kSha256;
  // RSA keys sign with PKCS#1 v1.5 unless this is set (RSASSA-PSS, salt as
  // long as the digest, MGF1 with the same digest). EC keys sign with ECDSA.
  bool rsa_pss = false;
  // signingTime; absent: now.
  std::optional<absl::Time> signing_time;
};

// SignedData over `content` (the exact bytes, e.g. a canonical MIME entity)
// without the content inside: DER.
absl::StatusOr<std::string> SignDetached(const CmsContext& context, absl::string_view content,
                                         const Signer& signer, const SignOptions& options);

// The same over content that is `content` joined (e.g. an entity's head and
// a body that lies in the mail it came in), without joining it.
absl::StatusOr<std::string> SignDetachedPieces(const CmsContext& context,
                                               absl::Span<const absl::string_view> content,
                                               const Signer& signer, const SignOptions& options);

// SignedData with the content inside (S/MIME's opaque signed-data): DER.
absl::StatusOr<std::string> SignAttached(const CmsContext& context, absl::string_view content,
                                         const Signer& signer, const SignOptions& options);

// Detached SignedData over content of type id-data whose digest (with
// options.digest) is `digest`; InvalidArgument when its length is not that
// digest's length.
absl::StatusOr<std::string> SignDigest(const CmsContext& context, absl::string_view digest,
                                       const Signer& signer, const SignOptions& options);

}  // namespace signet::cms

#endif  // SIGNET_APPLIANCE_CMS_SIGNED_DATA_H_
