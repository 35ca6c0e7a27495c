// What the daemon tells the audit log about one key operation, and how that
// becomes a record: checked, and with the result cut to its code and a short
// reason.
#ifndef SIGNET_APPLIANCE_AUDIT_AUDIT_EVENT_H_
#define SIGNET_APPLIANCE_AUDIT_AUDIT_EVENT_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "signet/audit/v1/audit.pb.h"

namespace signet::audit {

struct AuditEvent {
  // The caller's name in the configuration.
  std::string caller;
  // "SIGN_MAIL", "DECRYPT_MAIL", ...
  std::string operation;
  // The key's name in the configuration.
  std::string key;
  // InputDigest() / InputDigester of the input; empty for an operation
  // without input. Never the input itself.
  std::string input_sha256;
  // How the operation ended. Only the code and the start of the message are
  // kept, never payloads: the message must already be free of secrets
  // (docs/architecture.md, decision D10, keeps PINs out of every status).
  absl::Status result;
  // SignAndEncryptMail: the caller skipped the recipient validation.
  bool recipient_validation_skipped = false;
  // An RFC 3161 stamp (audit.proto Record): the serial (hex) and the TSA of
  // the stamp issued or added, or why a best-effort one is missing.
  std::string timestamp_serial_hex;
  std::string timestamp_tsa;
  std::string timestamp_problem;
};

// Longest caller, operation or key name a record takes.
inline constexpr size_t kMaxNameBytes = 1024;
// Longest reason kept from a failed result's message.
inline constexpr size_t kMaxReasonBytes = 200;

// The record for `event` (without its time, which the log sets).
// INVALID_ARGUMENT for a name that is too long or not UTF-8, or a digest
// that is not 32 bytes.
absl::StatusOr<v1::Record> MakeRecord(const AuditEvent& event);

}  // namespace signet::audit

#endif  // SIGNET_APPLIANCE_AUDIT_AUDIT_EVENT_H_
