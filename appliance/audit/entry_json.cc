#include "appliance/audit/entry_json.h"

#include <google/protobuf/util/json_util.h>

#include <cstdint>
#include <cstdio>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace signet::audit {
namespace {

// Text protobuf's JSON printer writes as it is: printable ASCII without
// the characters it escapes (quote, backslash, and the HTML-sensitive
// ones it may write as \u escapes).
bool Plain(absl::string_view text) {
  for (const char c : text) {
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' ||
        c == '\'' || c == '=') {
      return false;
    }
  }
  return true;
}

// A Timestamp as protobuf's JSON printer writes it (RFC 3339, UTC, 0, 3, 6
// or 9 digits of fraction); false for times before 1970, which records
// never carry, or outside the range protobuf accepts.
bool AppendTime(const google::protobuf::Timestamp& time, std::string& out) {
  // 1970-01-01T00:00:00Z .. 9999-12-31T23:59:59Z: four-digit years.
  if (time.seconds() < 0 || time.seconds() > 253402300799 || time.nanos() < 0 ||
      time.nanos() > 999999999) {
    return false;
  }
  absl::StrAppend(&out, "\"",
                  absl::FormatTime("%Y-%m-%dT%H:%M:%S", absl::FromUnixSeconds(time.seconds()),
                                   absl::UTCTimeZone()));
  const int32_t nanos = time.nanos();
  if (nanos != 0) {
    char fraction[16];
    if (nanos % 1000000 == 0) {
      std::snprintf(fraction, sizeof(fraction), ".%03d", nanos / 1000000);
    } else if (nanos % 1000 == 0) {
      std::snprintf(fraction, sizeof(fraction), ".%06d", nanos / 1000);
    } else {
      std::snprintf(fraction, sizeof(fraction), ".%09d", nanos);
    }
    out += fraction;
  }
  out += "Z\"";
  return true;
}

void AppendString(const char* name, absl::string_view value, std::string& out) {
  if (value.empty()) return;
  absl::StrAppend(&out, out.back() == '{' ? "" : ",", "\"", name, "\":\"", value, "\"");
}

void AppendBytes(const char* name, absl::string_view value, std::string& out) {
  if (value.empty()) return;
  absl::StrAppend(&out, out.back() == '{' ? "" : ",", "\"", name, "\":\"",
                  absl::Base64Escape(value), "\"");
}

// The line of a Record entry, written directly: the per-call entry, for
// which protobuf's generic printer (via binary form and a type resolver)
// cost more than the rest of the record. The same text, byte for byte
// (entry_json_test compares the two); false when the entry holds anything
// this does not write exactly as protobuf would, and protobuf then writes it.
bool FastRecordLine(const v1::Entry& entry, std::string& line) {
  if (!entry.has_record() || entry.GetReflection()->GetUnknownFields(entry).field_count() != 0) {
    return false;
  }
  const v1::Record& record = entry.record();
  if (record.GetReflection()->GetUnknownFields(record).field_count() != 0) return false;
  for (const std::string* text :
       {&record.caller(), &record.operation(), &record.key(), &record.result(), &record.reason(),
        &record.timestamp_serial_hex(), &record.timestamp_tsa(), &record.timestamp_problem()}) {
    if (!Plain(*text)) return false;
  }
  line.assign(1, '{');
  if (entry.sequence() != 0) absl::StrAppend(&line, "\"sequence\":\"", entry.sequence(), "\"");
  absl::StrAppend(&line, line.size() == 1 ? "" : ",", "\"record\":{");
  if (record.has_time()) {
    if (record.time().GetReflection()->GetUnknownFields(record.time()).field_count() != 0) {
      return false;
    }
    line += "\"time\":";
    if (!AppendTime(record.time(), line)) return false;
  }
  AppendString("caller", record.caller(), line);
  AppendString("operation", record.operation(), line);
  AppendString("key", record.key(), line);
  AppendBytes("input_sha256", record.input_sha256(), line);
  AppendString("result", record.result(), line);
  AppendString("reason", record.reason(), line);
  if (record.recipient_validation_skipped()) {
    absl::StrAppend(&line, line.back() == '{' ? "" : ",", "\"recipient_validation_skipped\":true");
  }
  AppendString("timestamp_serial_hex", record.timestamp_serial_hex(), line);
  AppendString("timestamp_tsa", record.timestamp_tsa(), line);
  AppendString("timestamp_problem", record.timestamp_problem(), line);
  line += "}";
  AppendBytes("chain_hash", entry.chain_hash(), line);
  line += "}\n";
  return true;
}

}  // namespace

absl::StatusOr<std::string> EntryToJsonLine(const v1::Entry& entry) {
  if (std::string line; FastRecordLine(entry, line)) return line;
  return ProtobufJsonLine(entry);
}

absl::StatusOr<std::string> ProtobufJsonLine(const v1::Entry& entry) {
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
