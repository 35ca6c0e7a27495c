// What the commands print on success: the signers of a verified mail, and
// tokens and keys in words.
#ifndef SIGNET_APPLIANCE_CLI_REPORTS_H_
#define SIGNET_APPLIANCE_CLI_REPORTS_H_

#include <string>

#include "absl/strings/string_view.h"
#include "signet/v1/keys.pb.h"
#include "signet/v1/mail.pb.h"

namespace signet::cli {

// VerifyMail's signer report, for stderr (the signed entity goes to OUT).
std::string FormatSigners(const v1::MailResponse::Header& header);

// After a signing call that asked for a time-stamp (or whose key stamps
// always): "signet: sign: time-stamped by <tsa> at <time> (serial <hex>)",
// or a warning with the problem when a best-effort stamp failed. One line.
std::string FormatSignatureTimestamp(const std::string& command,
                                     const v1::SignatureTimestamp& timestamp);

// A table, one token a line.
std::string FormatTokens(const v1::ListTokensResponse& tokens);
// A table, one key a line.
std::string FormatKeys(const v1::ListKeysResponse& keys);
// One key: its attributes, then its public key and certificates as PEM.
std::string FormatKey(const v1::Key& key);
std::string FormatGeneratedKey(const v1::GeneratedKey& key);

// The names the command line uses ("rsa-2048", "sign", "locked-out").
std::string AlgorithmName(v1::KeyAlgorithm algorithm);
std::string PurposeName(v1::KeyPurpose purpose);
std::string TokenStateName(v1::TokenState state);

// EncryptMail, SignAndEncryptMail with --to: the certificate each address
// resolved to, and the addresses left out (--skip-unresolved).
std::string FormatResolvedRecipients(absl::string_view operation,
                                     const v1::MailResponse::Header& header);

}  // namespace signet::cli

#endif  // SIGNET_APPLIANCE_CLI_REPORTS_H_
