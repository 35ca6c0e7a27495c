// Decryption of S/MIME mails (EnvelopedData and AuthEnvelopedData) with a
// recipient key that stays on its token.
//
// Decryption must not become an oracle (docs/architecture.md, decision D15): a wrong
// key, a tampered key transport, tampered content, a truncated or otherwise
// broken structure all give the one error kDecryptionFailed names, and no
// plaintext leaves unless the whole message decrypted (and, for
// AuthEnvelopedData, authenticated). The recipient certificate is always
// given to OpenSSL, so it decrypts only the RecipientInfo meant for that key.
// Only errors that do not depend on the ciphertext differ: a mail that is not
// encrypted S/MIME at all, one over the size limit, a certificate that is
// not the key's, a key transport or content encryption Signet does not
// decrypt (UNIMPLEMENTED, naming it: decryption_algorithms.h), and a token
// that is absent, locked out or busy.
#ifndef SIGNET_APPLIANCE_CMS_DECRYPTOR_H_
#define SIGNET_APPLIANCE_CMS_DECRYPTOR_H_

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "appliance/cms/cms_context.h"

namespace signet::cms {

// The message of the one error every failed decryption returns
// (InvalidArgument).
inline constexpr char kDecryptionFailed[] = "the message could not be decrypted";

struct Recipient {
  // The private key (a token key through Signet's provider). Not owned.
  EVP_PKEY* key = nullptr;
  // Its certificate, as senders encrypt to it. Not owned.
  X509* certificate = nullptr;
};

struct DecryptedMail {
  // The mail as its recipient reads it: the outer header fields (From, To,
  // Subject...) and the inner entity.
  std::string mail;
  // Where the inner MIME entity, exactly as it was encrypted, begins in
  // `mail` (it runs to the end). One copy of a large message, not two;
  // DecryptOwnedMail's is the buffer the mail came in, its capacity that of
  // the mail.
  size_t entity_offset = 0;
  // AuthEnvelopedData: the content was authenticated, not only decrypted.
  bool authenticated = false;

  absl::string_view entity() const { return absl::string_view(mail).substr(entity_offset); }
};

absl::StatusOr<DecryptedMail> DecryptMail(const CmsContext& context, absl::string_view mail,
                                          const Recipient& recipient);

// The same, given the encrypted mail to keep (signetd, which has no further
// use for it): its base64 is decoded where it lies, the ciphertext is
// decrypted where it lies in that, and the result is the mail's own buffer,
// so that a large mail is held once, not encoded, decoded, parsed and
// decrypted at once. DER with definite lengths only (as Signet, OpenSSL
// without -stream and most clients write it); BER from streaming senders
// is parsed whole by OpenSSL, and its base64 freed once parsed.
absl::StatusOr<DecryptedMail> DecryptOwnedMail(const CmsContext& context, std::string mail,
                                               const Recipient& recipient);

}  // namespace signet::cms

#endif  // SIGNET_APPLIANCE_CMS_DECRYPTOR_H_
