// The daemon's audit log (docs/architecture.md, decision D11): one hash-chained record
// per key operation, appended durably to a file, with checkpoints signed by
// the audit key. Format and guarantees: docs/audit.md.
#ifndef SIGNET_APPLIANCE_AUDIT_AUDIT_LOG_H_
#define SIGNET_APPLIANCE_AUDIT_AUDIT_LOG_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "appliance/audit/audit_event.h"
#include "appliance/audit/audit_key.h"
#include "appliance/audit/chain.h"
#include "appliance/audit/checkpoint_signer.h"
#include "appliance/audit/log_writer.h"
#include "signet/audit/v1/audit.pb.h"

namespace signet::audit {

struct AuditLogOptions {
  // Records between checkpoints (the config's checkpoint_interval).
  uint32_t checkpoint_interval = 1000;
  // How many records past a due checkpoint the log keeps taking while the
  // checkpoint cannot be signed (the audit key's token is briefly away):
  // they are chained and on disk, and the next checkpoint that can be
  // signed covers them. 0: the interval again.
  uint32_t max_unsigned_records = 0;
  // Group commit window (the config's group_commit_window_microseconds):
  // how long a queued record may wait for others to join its batch before
  // the batch is written and synced. Counted from the oldest queued
  // record's append, so no record waits more than this beyond the write and
  // fdatasync of its batch and of the batch before; Close() ends it at
  // once. Zero: a batch is written as soon as the writer is free (whatever
  // queued while the previous batch was synced). Either way a record is
  // answered only once it is durable.
  absl::Duration group_commit_window = absl::ZeroDuration();
  // Told when a checkpoint could not be signed and waits (for the daemon's
  // log); may be empty.
  std::function<void(absl::string_view)> warn;
  // Tests only: wraps the writer of the opened file, to make writes fail.
  std::function<std::unique_ptr<LogWriter>(std::unique_ptr<LogWriter>)> wrap_writer;
};

// What the log has written since it was opened, for /metrics and tests.
struct AuditLogCounters {
  // Writes made durable with one fdatasync each: batches of records, the
  // opening entries and the final checkpoint.
  uint64_t syncs = 0;
  // Records made durable (checkpoints and opening entries not counted).
  uint64_t records = 0;
};

class AuditLog {
 public:
  // Creates the log at `path`, or reopens it: then its whole chain and every
  // checkpoint is verified with `signer`'s key first, and a log that does not
  // verify is refused (DATA_LOSS) rather than appended to. Either way the
  // open is recorded (header or reopen entry) and signed at once, so a
  // signer that does not work fails here, not at the first checkpoint. One
  // process at a time: a log open elsewhere is FAILED_PRECONDITION.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(absl::string_view path,
                                                        std::unique_ptr<CheckpointSigner> signer,
                                                        AuditLogOptions options = {});

  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;
  // Close()s the log.
  ~AuditLog();

  // Appends a record of `event`, returning its sequence number once it is on
  // stable storage. Thread-safe; concurrent appends are written and synced
  // together, in the order they were called in. INVALID_ARGUMENT for an
  // event MakeRecord refuses (the log stays usable). When the file cannot be
  // written, or a checkpoint could not be signed for max_unsigned_records
  // records, this and every later Append fail with UNAVAILABLE: the log is
  // failed for good, and key operations must stop until it is reopened.
  absl::StatusOr<uint64_t> Append(const AuditEvent& event);

  // Called once with what Append would return.
  using AppendDone = std::function<void(absl::StatusOr<uint64_t> sequence)>;
  // Append without waiting: `done` runs on the log's writer thread once the
  // record's batch is on stable storage (or the log failed), so the thread
  // that did the work goes on to the next one meanwhile. `done` must not
  // block. An error returned here (the event refused, the log failed or
  // closed) means `done` is never called.
  absl::Status AppendAsync(const AuditEvent& event, AppendDone done);

  // Writes the records still queued, then a final checkpoint, and closes
  // the file (so it can be opened again at once). Appends after it fail with
  // FAILED_PRECONDITION. Returns the failure that stopped the log, if any.
  absl::Status Close();

  // OK while the log is writable, else why it is not (for health checks).
  absl::Status status() const;

  // Thread-safe; each counter is read atomically, the two not together.
  AuditLogCounters counters() const;

  // The log's random id (16 bytes), from its header.
  const std::string& log_id() const { return log_id_; }

 private:
  struct Pending {
    v1::Record record;
    uint64_t ticket;
    uint64_t sequence = 0;  // set by the writer
    // Exactly one of these: where a waiting Append wants the sequence
    // number, or AppendAsync's callback.
    uint64_t* wanted_sequence = nullptr;
    AppendDone done;
  };

  // The checks and queueing common to both appends; the ticket.
  absl::StatusOr<uint64_t> Enqueue(const AuditEvent& event, uint64_t* wanted_sequence,
                                   AppendDone done, std::unique_lock<std::mutex>& lock);

  AuditLog(std::string path, std::unique_ptr<CheckpointSigner> signer, AuditPublicKey key,
           std::unique_ptr<LogWriter> writer, ChainTail tail, const AuditLogOptions& options);

  // Writer side; only Open (before the writer thread starts) and the writer
  // thread call these.
  void WriterLoop();
  absl::Status AddEntry(ChainTail& tail, v1::Entry& entry, std::string& out) const;
  absl::Status AddCheckpoint(ChainTail& tail, bool final, std::string& out) const;
  absl::Status Commit(std::vector<Pending>& batch, bool close);
  absl::Status WriteAndSync(absl::string_view bytes);

  const std::string path_;
  const std::string log_id_;
  const std::unique_ptr<CheckpointSigner> signer_;
  const AuditPublicKey key_;
  // Released by Close(), with the file and its lock.
  std::unique_ptr<LogWriter> writer_;
  const uint32_t checkpoint_interval_;
  const uint32_t max_unsigned_records_;
  const std::chrono::nanoseconds group_commit_window_;
  const std::function<void(absl::string_view)> warn_;
  // The chain as written; the writer thread's alone.
  ChainTail tail_;

  // std::mutex rather than absl::Mutex: ThreadSanitizer sees through it
  // (Debian's abseil is not instrumented).
  mutable std::mutex mutex_;
  // The writer waits on work_ for records or Close(); appenders wait on
  // durable_ for their batch.
  std::condition_variable work_;
  std::condition_variable durable_;
  // Guarded by mutex_:
  std::vector<Pending> queue_;
  // When the oldest record in queue_ was queued (kept only with a window).
  std::chrono::steady_clock::time_point queued_since_;
  uint64_t next_ticket_ = 1;
  // Every record with a ticket up to this one is durable.
  uint64_t durable_ticket_ = 0;
  absl::Status failure_;
  bool closing_ = false;

  // Serializes Close() calls.
  std::mutex close_mutex_;
  std::thread writer_thread_;

  std::atomic<uint64_t> syncs_{0};
  std::atomic<uint64_t> records_synced_{0};
};

}  // namespace signet::audit

#endif  // SIGNET_APPLIANCE_AUDIT_AUDIT_LOG_H_
