// An entry as one line of the log file: protobuf's JSON form with the
// .proto field names, which operators read with jq and which parses back to
// the same message (the chain hashes the message, not the text).
#ifndef SIGNET_APPLIANCE_AUDIT_ENTRY_JSON_H_
#define SIGNET_APPLIANCE_AUDIT_ENTRY_JSON_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "signet/audit/v1/audit.pb.h"

namespace signet::audit {

// The entry's JSON followed by '\n'.
absl::StatusOr<std::string> EntryToJsonLine(const v1::Entry& entry);

// The same through protobuf's JSON printer alone: what EntryToJsonLine's
// direct writing of records is checked against.
absl::StatusOr<std::string> ProtobufJsonLine(const v1::Entry& entry);

// One line (without its '\n'). An unknown field is an error, not ignored:
// a field added by hand must not slip past the chain unnoticed.
absl::StatusOr<v1::Entry> ParseEntryJson(absl::string_view line);

}  // namespace signet::audit

#endif  // SIGNET_APPLIANCE_AUDIT_ENTRY_JSON_H_
