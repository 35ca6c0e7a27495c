#include "appliance/audit/entry_json.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"

namespace signet::audit {

absl::StatusOr<std::string> EntryToJsonLine(const v1::Entry& entry) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  options.preserve_proto_field_names = true;
  std::string line;
  auto status = google::protobuf::util::MessageToJsonString(entry, &line, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot write an audit entry as JSON: ", status.message().ToString()));
  }
  line.push_back('\n');
  return line;
}

absl::StatusOr<v1::Entry> ParseEntryJson(absl::string_view line) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  v1::Entry entry;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(line.data(), line.size()), &entry, options);
  if (!status.ok()) {
    return absl::DataLossError(absl::StrCat("not an audit entry: ", status.message().ToString()));
  }
  return entry;
}

}  // namespace signet::audit
