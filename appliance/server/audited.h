// Key operations and their audit records (docs/architecture.md, decision D11): every
// key operation is recorded with its caller, key, input digest and result,
// and a result whose record cannot be written is withheld.
#ifndef SIGNET_APPLIANCE_SERVER_AUDITED_H_
#define SIGNET_APPLIANCE_SERVER_AUDITED_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "appliance/audit/input_digest.h"
#include "appliance/server/appliance.h"
#include "appliance/server/exception_status.h"
#include "signet/config/v1/config.pb.h"

namespace signet::server {

// Runs a key operation and records it; a record that cannot be written
// withholds the result (docs/architecture.md, decision D11). The record's
// operation is `operation` ("SIGN_MAIL", "REMOVE_CERTIFICATE") and its
// input_sha256 `input_sha256` (audit::InputDigest of the input, or a digest
// the operation is about, such as a certificate's fingerprint).
template <typename T>
absl::StatusOr<T> AuditedWithDigest(Appliance& appliance, const std::string& caller,
                                    std::string operation, const std::string& key,
                                    std::string input_sha256,
                                    const std::function<absl::StatusOr<T>()>& work) {
  if (appliance.audit() == nullptr) {
    return absl::UnavailableError("no audit log: key operations are stopped");
  }
  // Checked before the work too, so that nothing is done on a token (a key
  // generated, a certificate stored) that could not be recorded.
  if (!appliance.audit()->status().ok()) {
    return absl::UnavailableError("the audit log cannot be written: key operations are stopped");
  }
  // Out of memory halfway, the operation is still recorded, as failed.
  absl::StatusOr<T> result = ResultCatching<absl::StatusOr<T>>(work);
  audit::AuditEvent event{.caller = caller,
                          .operation = std::move(operation),
                          .key = key,
                          .input_sha256 = std::move(input_sha256),
                          .result = result.status()};
  if (absl::StatusOr<uint64_t> recorded = appliance.audit()->Append(event); !recorded.ok()) {
    return absl::UnavailableError("the audit log cannot be written: key operations are stopped");
  }
  return result;
}

template <typename T>
absl::StatusOr<T> Audited(Appliance& appliance, const std::string& caller,
                          config::v1::Operation operation, const std::string& key,
                          absl::string_view input, const std::function<absl::StatusOr<T>()>& work) {
  return AuditedWithDigest<T>(appliance, caller, config::v1::Operation_Name(operation), key,
                              audit::InputDigest(input), work);
}

// The same, without holding the calling thread while the record is synced:
// `work` runs here (on the token's worker), and `done` gets its result once
// the record is on stable storage, on the audit log's writer thread, so the
// worker is free for the token's next operation meanwhile. `done` is called
// exactly once and must not block.
// `notes`: what the record says besides the operation (its
// recipient_validation_skipped and timestamp_* fields).
template <typename T>
void AuditedAsyncWithDigest(Appliance& appliance, const std::string& caller,
                            config::v1::Operation operation, const std::string& key,
                            std::string input_sha256,
                            const std::function<absl::StatusOr<T>()>& work,
                            std::function<void(absl::StatusOr<T>)> done,
                            const audit::AuditEvent& notes = {}) {
  if (appliance.audit() == nullptr) {
    return done(absl::UnavailableError("no audit log: key operations are stopped"));
  }
  if (!appliance.audit()->status().ok()) {
    return done(
        absl::UnavailableError("the audit log cannot be written: key operations are stopped"));
  }
  // Out of memory halfway, the operation is still recorded, as failed.
  auto result = std::make_shared<absl::StatusOr<T>>(ResultCatching<absl::StatusOr<T>>(work));
  audit::AuditEvent event = notes;
  event.caller = caller;
  event.operation = config::v1::Operation_Name(operation);
  event.key = key;
  event.input_sha256 = std::move(input_sha256);
  event.result = result->status();
  // Shared: either the log calls it, or (refused at once) this function.
  auto shared_done = std::make_shared<std::function<void(absl::StatusOr<T>)>>(std::move(done));
  absl::Status queued = appliance.audit()->AppendAsync(
      event, [result, shared_done](absl::StatusOr<uint64_t> recorded) {
        if (!recorded.ok()) {
          return (*shared_done)(absl::UnavailableError(
              "the audit log cannot be written: key operations are stopped"));
        }
        (*shared_done)(std::move(*result));
      });
  if (!queued.ok()) {
    (*shared_done)(
        absl::UnavailableError("the audit log cannot be written: key operations are stopped"));
  }
}

template <typename T>
void AuditedAsync(Appliance& appliance, const std::string& caller, config::v1::Operation operation,
                  const std::string& key, absl::string_view input,
                  const std::function<absl::StatusOr<T>()>& work,
                  std::function<void(absl::StatusOr<T>)> done,
                  const audit::AuditEvent& notes = {}) {
  AuditedAsyncWithDigest<T>(appliance, caller, operation, key, audit::InputDigest(input), work,
                            std::move(done), notes);
}

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_AUDITED_H_
