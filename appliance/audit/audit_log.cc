#include "appliance/audit/audit_log.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "appliance/audit/entry_json.h"
#include "appliance/audit/log_scanner.h"
#include "common/status_macros.h"
#include "common/unique_fd.h"

namespace signet::audit {
namespace {

uint32_t MaxUnsignedRecords(const AuditLogOptions& options) {
  return options.max_unsigned_records != 0 ? options.max_unsigned_records
                                           : options.checkpoint_interval;
}

void SetTime(google::protobuf::Timestamp* timestamp, absl::Time time) {
  const int64_t seconds = absl::ToUnixSeconds(time);
  timestamp->set_seconds(seconds);
  timestamp->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(time - absl::FromUnixSeconds(seconds))));
}

// A new file's name is durable only once its directory is synced.
absl::Status SyncDirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string directory =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  UniqueFd fd(open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || fsync(fd.get()) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot sync the directory of ", path));
  }
  return absl::OkStatus();
}

absl::Status Prefixed(absl::string_view prefix, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(absl::string_view path,
                                                         std::unique_ptr<CheckpointSigner> signer,
                                                         AuditLogOptions options) {
  if (signer == nullptr) return absl::InvalidArgumentError("audit log: no checkpoint signer");
  if (options.checkpoint_interval == 0) {
    return absl::InvalidArgumentError("audit log: the checkpoint interval must be at least 1");
  }
  if (options.group_commit_window < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("audit log: the group commit window is negative");
  }
  ASSIGN_OR_RETURN(AuditPublicKey key, AuditPublicKey::FromSpkiDer(signer->PublicKeyDer()));

  const std::string file(path);
  bool created = true;
  UniqueFd fd(open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0640));
  if (fd.get() < 0 && errno == EEXIST) {
    created = false;
    fd.reset(open(file.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
  }
  if (fd.get() < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot open audit log ", file, " to append"));
  }
  // Two writers would fork the chain.
  if (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return absl::FailedPreconditionError(
          absl::StrCat("audit log ", file, " is open in another process"));
    }
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot lock audit log ", file));
  }
  struct stat info;
  if (fstat(fd.get(), &info) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot stat audit log ", file));
  }
  if (!S_ISREG(info.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat("audit log ", file, " is not a file"));
  }

  ChainTail tail;
  v1::Entry opening;
  // An empty file is a log whose header never reached the disk: nothing in
  // it to keep, so it starts afresh.
  if (info.st_size == 0) {
    tail.log_id.resize(kLogIdSize);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(tail.log_id.data()), kLogIdSize) != 1) {
      return absl::InternalError("audit log: no random bytes for the log id");
    }
    tail.chain_hash = GenesisHash(tail.log_id);
    v1::Header* header = opening.mutable_header();
    header->set_log_id(tail.log_id);
    SetTime(header->mutable_time(), absl::Now());
    header->set_checkpoint_interval(options.checkpoint_interval);
    header->set_max_unsigned_records(MaxUnsignedRecords(options));
  } else {
    absl::StatusOr<ScannedLog> scanned = ScanAuditLog(file, key);
    if (!scanned.ok()) {
      return Prefixed("refusing to append to an audit log that does not verify: ",
                      scanned.status());
    }
    if (scanned->device != info.st_dev || scanned->inode != info.st_ino ||
        scanned->size != static_cast<uint64_t>(info.st_size)) {
      return absl::FailedPreconditionError(
          absl::StrCat("audit log ", file, " changed while it was being verified"));
    }
    tail = std::move(scanned->tail);
    v1::Reopen* reopen = opening.mutable_reopen();
    SetTime(reopen->mutable_time(), absl::Now());
    reopen->set_checkpoint_interval(options.checkpoint_interval);
    reopen->set_max_unsigned_records(MaxUnsignedRecords(options));
    reopen->set_unsealed_records(tail.records_since_checkpoint);
  }
  tail.checkpoint_interval = options.checkpoint_interval;

  std::unique_ptr<LogWriter> writer =
      NewFdLogWriter(fd.release(), file, static_cast<uint64_t>(info.st_size));
  if (options.wrap_writer) writer = options.wrap_writer(std::move(writer));
  std::unique_ptr<AuditLog> log(new AuditLog(file, std::move(signer), std::move(key),
                                             std::move(writer), std::move(tail), options));

  // The opening entry and a checkpoint over it, before anyone can append.
  ChainTail next = log->tail_;
  std::string out;
  absl::Status status = log->AddEntry(next, opening, out);
  if (status.ok()) status = log->AddCheckpoint(next, /*final=*/false, out);
  if (status.ok()) status = log->WriteAndSync(out);
  if (status.ok() && created) status = SyncDirectoryOf(file);
  if (!status.ok()) return status;
  log->tail_ = std::move(next);

  log->writer_thread_ = std::thread(&AuditLog::WriterLoop, log.get());
  return log;
}

AuditLog::AuditLog(std::string path, std::unique_ptr<CheckpointSigner> signer, AuditPublicKey key,
                   std::unique_ptr<LogWriter> writer, ChainTail tail,
                   const AuditLogOptions& options)
    : path_(std::move(path)),
      log_id_(tail.log_id),
      signer_(std::move(signer)),
      key_(std::move(key)),
      writer_(std::move(writer)),
      checkpoint_interval_(options.checkpoint_interval),
      max_unsigned_records_(MaxUnsignedRecords(options)),
      group_commit_window_(absl::ToChronoNanoseconds(options.group_commit_window)),
      warn_(options.warn),
      tail_(std::move(tail)) {}

AuditLog::~AuditLog() { Close().IgnoreError(); }

absl::StatusOr<uint64_t> AuditLog::Enqueue(const AuditEvent& event, uint64_t* wanted_sequence,
                                           AppendDone done, std::unique_lock<std::mutex>& lock) {
  absl::StatusOr<v1::Record> record = MakeRecord(event);
  if (!record.ok()) return record.status();
  lock.lock();
  if (!failure_.ok()) return failure_;
  if (closing_) {
    return absl::FailedPreconditionError(absl::StrCat("audit log ", path_, " is closed"));
  }
  // Stamped in queue order, which is sequence order: times never go
  // backwards along the chain unless the clock does.
  SetTime(record->mutable_time(), absl::Now());
  const uint64_t ticket = next_ticket_++;
  Pending pending{.record = *std::move(record), .ticket = ticket};
  pending.wanted_sequence = wanted_sequence;
  pending.done = std::move(done);
  // The writer waits for work only while the queue is empty: waking it for
  // every record would cost a context switch each while it gathers a batch.
  const bool first = queue_.empty();
  if (first && group_commit_window_.count() > 0) queued_since_ = std::chrono::steady_clock::now();
  queue_.push_back(std::move(pending));
  if (first) work_.notify_one();
  return ticket;
}

absl::StatusOr<uint64_t> AuditLog::Append(const AuditEvent& event) {
  uint64_t sequence = 0;
  std::unique_lock lock(mutex_, std::defer_lock);
  ASSIGN_OR_RETURN(uint64_t ticket, Enqueue(event, &sequence, nullptr, lock));
  durable_.wait(lock, [&] { return durable_ticket_ >= ticket || !failure_.ok(); });
  if (durable_ticket_ >= ticket) return sequence;
  return failure_;
}

absl::Status AuditLog::AppendAsync(const AuditEvent& event, AppendDone done) {
  std::unique_lock lock(mutex_, std::defer_lock);
  return Enqueue(event, nullptr, std::move(done), lock).status();
}

absl::Status AuditLog::Close() {
  std::lock_guard close_lock(close_mutex_);
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  work_.notify_one();
  if (writer_thread_.joinable()) writer_thread_.join();
  writer_.reset();
  std::lock_guard lock(mutex_);
  return failure_;
}

AuditLogCounters AuditLog::counters() const {
  return {.syncs = syncs_.load(std::memory_order_relaxed),
          .records = records_synced_.load(std::memory_order_relaxed)};
}

absl::Status AuditLog::status() const {
  std::lock_guard lock(mutex_);
  if (!failure_.ok()) return failure_;
  if (closing_) {
    return absl::FailedPreconditionError(absl::StrCat("audit log ", path_, " is closed"));
  }
  return absl::OkStatus();
}

void AuditLog::WriterLoop() {
  for (;;) {
    std::vector<Pending> batch;
    bool close;
    {
      std::unique_lock lock(mutex_);
      work_.wait(lock, [this] { return !queue_.empty() || closing_; });
      if (group_commit_window_.count() > 0) {
        // More records join the batch until the oldest has waited the
        // window; Close() ends the wait (it notifies work_).
        work_.wait_until(lock, queued_since_ + group_commit_window_, [this] { return closing_; });
      }
      batch.swap(queue_);
      // Nothing is queued after closing_ is set, so this batch is the last.
      close = closing_;
    }
    // Everyone who queues meanwhile waits for the next batch: one write and
    // one fdatasync for all of them (group commit).
    absl::Status status = Commit(batch, close);
    {
      std::lock_guard lock(mutex_);
      if (status.ok() && !batch.empty()) durable_ticket_ = batch.back().ticket;
      if (!status.ok()) failure_ = status;
      for (const Pending& pending : batch) {
        if (pending.wanted_sequence != nullptr) *pending.wanted_sequence = pending.sequence;
      }
    }
    durable_.notify_all();
    // Outside the lock: a callback may append again.
    for (Pending& pending : batch) {
      if (!pending.done) continue;
      if (status.ok()) {
        pending.done(pending.sequence);
      } else {
        pending.done(status);
      }
    }
    if (!status.ok()) {
      // Appends queued behind the failed batch are never written: waiting
      // appenders see failure_; callbacks are told.
      std::vector<Pending> stranded;
      {
        std::lock_guard lock(mutex_);
        stranded.swap(queue_);
      }
      for (Pending& pending : stranded) {
        if (pending.done) pending.done(status);
      }
    }
    if (!status.ok() || close) return;
  }
}

absl::Status AuditLog::Commit(std::vector<Pending>& batch, bool close) {
  ChainTail next = tail_;
  std::string out;
  // One signing attempt per batch: a token that just failed is not asked
  // again for every record of the same batch.
  bool signing_failed = false;
  for (Pending& pending : batch) {
    v1::Entry entry;
    *entry.mutable_record() = std::move(pending.record);
    absl::Status status = AddEntry(next, entry, out);
    if (!status.ok()) return status;
    pending.sequence = entry.sequence();
    if (++next.records_since_checkpoint < checkpoint_interval_ || signing_failed) continue;
    status = AddCheckpoint(next, /*final=*/false, out);
    if (status.ok()) continue;
    if (status.code() != absl::StatusCode::kUnavailable ||
        next.records_since_checkpoint >= uint64_t{checkpoint_interval_} + max_unsigned_records_) {
      return status;
    }
    signing_failed = true;
    if (warn_) {
      warn_(absl::StrCat(status.message(), "; ", next.records_since_checkpoint,
                         " records wait for a checkpoint, key operations stop at ",
                         uint64_t{checkpoint_interval_} + max_unsigned_records_));
    }
  }
  if (close) {
    RETURN_IF_ERROR(AddCheckpoint(next, /*final=*/true, out));
  }
  if (out.empty()) return absl::OkStatus();
  RETURN_IF_ERROR(WriteAndSync(out));
  tail_ = std::move(next);
  records_synced_.fetch_add(batch.size(), std::memory_order_relaxed);
  return absl::OkStatus();
}

absl::Status AuditLog::AddEntry(ChainTail& tail, v1::Entry& entry, std::string& out) const {
  entry.set_sequence(tail.next_sequence);
  entry.clear_chain_hash();
  std::string hash = ChainHash(tail.chain_hash, entry);
  entry.set_chain_hash(hash);
  absl::StatusOr<std::string> line = EntryToJsonLine(entry);
  if (!line.ok()) return absl::UnavailableError(line.status().message());
  out += *line;
  ++tail.next_sequence;
  tail.chain_hash = std::move(hash);
  return absl::OkStatus();
}

absl::Status AuditLog::AddCheckpoint(ChainTail& tail, bool final, std::string& out) const {
  v1::Entry entry;
  v1::Checkpoint* checkpoint = entry.mutable_checkpoint();
  SetTime(checkpoint->mutable_time(), absl::Now());
  checkpoint->set_covered_sequence(tail.next_sequence - 1);
  checkpoint->set_covered_chain_hash(tail.chain_hash);
  checkpoint->set_key_id(key_.key_id());
  checkpoint->set_final(final);
  const std::string statement =
      CheckpointStatement(log_id_, checkpoint->covered_sequence(), tail.chain_hash);
  absl::StatusOr<std::string> signature = signer_->Sign(statement);
  if (!signature.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "audit log ", path_, ": cannot sign a checkpoint: ", signature.status().message()));
  }
  // A signer whose signatures do not match its public key would write a log
  // that no one can verify (and that this class would refuse to reopen):
  // better to stop now.
  absl::Status verified = key_.Verify(statement, *signature);
  if (!verified.ok()) {
    return absl::InternalError(absl::StrCat(
        "audit log ", path_, ": the checkpoint signer's signature does not verify with its key"));
  }
  checkpoint->set_signature(*std::move(signature));
  tail.records_since_checkpoint = 0;
  return AddEntry(tail, entry, out);
}

absl::Status AuditLog::WriteAndSync(absl::string_view bytes) {
  RETURN_IF_ERROR(writer_->Append(bytes));
  RETURN_IF_ERROR(writer_->Sync());
  syncs_.fetch_add(1, std::memory_order_relaxed);
  return absl::OkStatus();
}

}  // namespace signet::audit
