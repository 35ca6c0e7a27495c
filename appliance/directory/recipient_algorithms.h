// What a recipient can read, from the SMIMECapabilities it advertised in
// its signed mail (RFC 8551 section 2.5.2), and the content cipher and RSA
// key transport a mail to several recipients uses: the strongest that every
// one of them can read. A recipient whose capabilities are unknown is taken
// to read what Signet sends by default (AES-256-GCM, RSAES-OAEP).
#ifndef SIGNET_APPLIANCE_DIRECTORY_RECIPIENT_ALGORITHMS_H_
#define SIGNET_APPLIANCE_DIRECTORY_RECIPIENT_ALGORITHMS_H_

#include <vector>

#include "absl/strings/string_view.h"
#include "appliance/cms/enveloped_data.h"

namespace signet::directory {

struct RecipientAlgorithms {
  // Whether the fields below come from advertised capabilities.
  bool from_capabilities = false;
  // The content ciphers Signet offers that the recipient reads.
  bool aes256_gcm = true;
  bool aes128_gcm = true;
  bool aes256_cbc = true;
  bool aes128_cbc = true;
  // RSAES-OAEP; otherwise PKCS#1 v1.5 key transport.
  bool rsa_oaep = true;
};

// From the attribute value (DER SEQUENCE OF SMIMECapability). Empty or
// unparseable: unknown (the defaults). A list naming no AES cipher Signet
// offers still gets AES-128-CBC, which RFC 8551 makes every receiver
// support; OAEP only when it is listed.
RecipientAlgorithms AlgorithmsFromCapabilities(absl::string_view capabilities_der);

struct ChosenAlgorithms {
  cms::ContentCipher cipher = cms::ContentCipher::kAes256Gcm;
  cms::RsaKeyTransport rsa_key_transport = cms::RsaKeyTransport::kOaepSha256;
};

// The strongest cipher all of `recipients` read (AES-128-CBC when they
// share none), and OAEP unless one of them lacks it.
ChosenAlgorithms ChooseAlgorithms(const std::vector<RecipientAlgorithms>& recipients);

}  // namespace signet::directory

#endif  // SIGNET_APPLIANCE_DIRECTORY_RECIPIENT_ALGORITHMS_H_
