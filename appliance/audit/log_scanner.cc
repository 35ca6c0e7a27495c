#include "appliance/audit/log_scanner.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "appliance/audit/entry_json.h"
#include "appliance/audit/line_reader.h"
#include "common/status_macros.h"

namespace signet::audit {
namespace {

// Key ids in messages: enough of the hash to tell keys apart by eye.
std::string ShortId(absl::string_view key_id) {
  return absl::BytesToHexString(key_id.substr(0, 8));
}

// Checks one entry after another against the chain so far.
class Scanner {
 public:
  Scanner(absl::string_view path, const AuditPublicKey& key) : path_(path), key_(key) {}

  absl::Status Take(uint64_t line, v1::Entry entry) {
    line_ = line;
    sequence_ = entry.sequence();
    std::string stored_hash = std::move(*entry.mutable_chain_hash());
    entry.clear_chain_hash();

    if (line == 1) {
      RETURN_IF_ERROR(StartChain(entry));
    } else if (entry.has_header()) {
      return Error("a second header: entries of another log were put in");
    }
    absl::Status status = CheckSequence();
    if (!status.ok()) return status;
    std::string hash = ChainHash(tail_.chain_hash, entry);
    if (hash != stored_hash) {
      return Error("the chain hash does not match: this entry, or one before it, was changed");
    }
    if (after_final_checkpoint_ && !entry.has_reopen()) {
      return Error("an entry after the closing checkpoint that does not reopen the log");
    }
    after_final_checkpoint_ = false;
    // The writer signs every opening at once: without this, a whole log
    // written from scratch by someone without the audit key would verify as
    // nothing worse than unsigned records.
    if (opening_unsigned_ && !entry.has_checkpoint()) {
      return Error(
          "no checkpoint right after the log's header or reopen entry: the opening is not signed");
    }
    opening_unsigned_ = entry.has_header() || entry.has_reopen();

    switch (entry.body_case()) {
      case v1::Entry::kHeader:
        break;
      case v1::Entry::kRecord:
        status = TakeRecord();
        break;
      case v1::Entry::kCheckpoint:
        status = TakeCheckpoint(entry.checkpoint());
        break;
      case v1::Entry::kReopen:
        status = TakeReopen(entry.reopen());
        break;
      case v1::Entry::BODY_NOT_SET:
        status = Error("an entry without a header, record, checkpoint or reopen");
        break;
    }
    if (!status.ok()) return status;
    ++report_.entries;
    tail_.next_sequence = sequence_ + 1;
    tail_.chain_hash = std::move(hash);
    return absl::OkStatus();
  }

  absl::Status Finish() {
    if (report_.entries == 0) {
      return absl::DataLossError(absl::StrCat(path_, " is empty: the log's header is missing"));
    }
    report_.log_id_hex = absl::BytesToHexString(tail_.log_id);
    report_.last_sequence = tail_.next_sequence - 1;
    report_.last_chain_hash_hex = absl::BytesToHexString(tail_.chain_hash);
    report_.unsigned_records = tail_.records_since_checkpoint;
    return absl::OkStatus();
  }

  const AuditReport& report() const { return report_; }
  const ChainTail& tail() const { return tail_; }

 private:
  absl::Status Error(absl::string_view what) const {
    return absl::DataLossError(
        absl::StrCat(path_, " line ", line_, " (sequence ", sequence_, "): ", what));
  }

  absl::Status StartChain(const v1::Entry& entry) {
    if (!entry.has_header()) {
      return Error("not the log's header: the beginning of the log is missing or was changed");
    }
    if (entry.header().log_id().size() != kLogIdSize) {
      return Error(absl::StrCat("the log id is not ", kLogIdSize, " bytes"));
    }
    if (entry.header().checkpoint_interval() == 0) return Error("no checkpoint interval");
    tail_.log_id = entry.header().log_id();
    tail_.chain_hash = GenesisHash(tail_.log_id);
    tail_.next_sequence = 0;
    tail_.checkpoint_interval = entry.header().checkpoint_interval();
    tail_.max_unsigned_records = entry.header().max_unsigned_records();
    return absl::OkStatus();
  }

  absl::Status CheckSequence() const {
    const uint64_t expected = tail_.next_sequence;
    if (sequence_ == expected) return absl::OkStatus();
    if (sequence_ < expected) {
      return Error(absl::StrCat("sequence ", sequence_, " where ", expected,
                                " was expected: a repeated or reordered entry"));
    }
    if (sequence_ == expected + 1) {
      return Error(absl::StrCat("sequence ", sequence_, " where ", expected,
                                " was expected: entry ", expected, " is missing or out of order"));
    }
    return Error(absl::StrCat("sequence ", sequence_, " where ", expected,
                              " was expected: entries ", expected, " to ", sequence_ - 1,
                              " are missing or out of order"));
  }

  absl::Status TakeRecord() {
    ++report_.records;
    const uint64_t allowed =
        uint64_t{tail_.checkpoint_interval} + uint64_t{tail_.max_unsigned_records};
    if (++tail_.records_since_checkpoint > allowed) {
      return Error(absl::StrCat("more than ", allowed,
                                " records (the checkpoint interval and the records a checkpoint "
                                "may wait for) without a checkpoint: a checkpoint is missing"));
    }
    return absl::OkStatus();
  }

  absl::Status TakeCheckpoint(const v1::Checkpoint& checkpoint) {
    if (checkpoint.covered_sequence() + 1 != sequence_ ||
        checkpoint.covered_chain_hash() != tail_.chain_hash) {
      return Error(absl::StrCat("the checkpoint covers sequence ", checkpoint.covered_sequence(),
                                ", not the entry before it"));
    }
    if (checkpoint.signature().empty()) return Error("the checkpoint has no signature");
    absl::Status verified =
        key_.Verify(CheckpointStatement(tail_.log_id, checkpoint.covered_sequence(),
                                        checkpoint.covered_chain_hash()),
                    checkpoint.signature());
    if (!verified.ok()) {
      // The key id is only chained, not signed: it explains a failure, the
      // signature alone decides.
      if (checkpoint.key_id() != key_.key_id()) {
        return Error(absl::StrCat("the checkpoint is signed by another audit key (id ",
                                  ShortId(checkpoint.key_id()), "...), not by the given one (",
                                  ShortId(key_.key_id()), "...)"));
      }
      return Error(
          "the checkpoint's signature does not verify: the log up to here was changed after it "
          "was signed");
    }
    ++report_.checkpoints;
    report_.last_checkpoint_sequence = sequence_;
    report_.closed = checkpoint.final();
    after_final_checkpoint_ = checkpoint.final();
    tail_.records_since_checkpoint = 0;
    return absl::OkStatus();
  }

  absl::Status TakeReopen(const v1::Reopen& reopen) {
    if (reopen.unsealed_records() != tail_.records_since_checkpoint) {
      return Error(absl::StrCat("the reopen entry counts ", reopen.unsealed_records(),
                                " unsigned records before it, the log has ",
                                tail_.records_since_checkpoint));
    }
    if (reopen.checkpoint_interval() == 0) return Error("no checkpoint interval");
    tail_.checkpoint_interval = reopen.checkpoint_interval();
    tail_.max_unsigned_records = reopen.max_unsigned_records();
    ++report_.reopens;
    report_.closed = false;
    return absl::OkStatus();
  }

  std::string path_;
  const AuditPublicKey& key_;
  ChainTail tail_;
  AuditReport report_;
  bool after_final_checkpoint_ = false;
  bool opening_unsigned_ = false;
  uint64_t line_ = 0;
  uint64_t sequence_ = 0;
};

}  // namespace

absl::StatusOr<ScannedLog> ScanAuditLog(absl::string_view path, const AuditPublicKey& key) {
  ASSIGN_OR_RETURN(LineReader reader, LineReader::Open(path));
  Scanner scanner(path, key);
  for (;;) {
    ASSIGN_OR_RETURN(std::optional<absl::string_view> line, reader.Next());
    if (!line.has_value()) break;
    absl::StatusOr<v1::Entry> entry = ParseEntryJson(*line);
    if (!entry.ok()) {
      return absl::DataLossError(
          absl::StrCat(path, " line ", reader.line_number(), ": ", entry.status().message()));
    }
    RETURN_IF_ERROR(scanner.Take(reader.line_number(), *std::move(entry)));
  }
  RETURN_IF_ERROR(scanner.Finish());
  ScannedLog scanned;
  scanned.report = scanner.report();
  scanned.tail = scanner.tail();
  scanned.size = reader.offset();
  scanned.device = reader.device();
  scanned.inode = reader.inode();
  return scanned;
}

}  // namespace signet::audit
