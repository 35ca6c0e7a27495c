// Key operations and their audit records (DESIGN.md decision 11): every
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
#include "signet/config/v1/config.pb.h"

namespace signet::server {

// Runs a key operation and records it; a record that cannot be written
// withholds the result (DESIGN.md decision 11).
template <typename T>
absl::StatusOr<T> Audited(Appliance& appliance, const std::string& caller,
                          config::v1::Operation operation, const std::string& key,
                          absl::string_view input, const std::function<absl::StatusOr<T>()>& work) {
  if (appliance.audit() == nullptr) {
    return absl::UnavailableError("no audit log: key operations are stopped");
  }
  // Checked before the work too, so that nothing is done on a token (a key
  // generated, a certificate stored) that could not be recorded.
  if (!appliance.audit()->status().ok()) {
    return absl::UnavailableError("the audit log cannot be written: key operations are stopped");
  }
  absl::StatusOr<T> result = work();
  audit::AuditEvent event{.caller = caller,
                          .operation = config::v1::Operation_Name(operation),
                          .key = key,
                          .input_sha256 = audit::InputDigest(input),
                          .result = result.status()};
  if (absl::StatusOr<uint64_t> recorded = appliance.audit()->Append(event); !recorded.ok()) {
    return absl::UnavailableError("the audit log cannot be written: key operations are stopped");
  }
  return result;
}

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_AUDITED_H_
