#include "appliance/directory/certificate_store.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <mutex>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "appliance/directory/email_address.h"
#include "common/asn1_time.h"
#include "common/ossl_ptr.h"
#include "common/status_macros.h"
#include "common/unique_fd.h"

namespace signet::directory {
namespace {

// "SgDr": PRAGMA application_id, so that another program's SQLite file is
// refused rather than given our tables.
constexpr int32_t kApplicationId = 0x53674472;
constexpr int kSchemaVersion = 1;
constexpr int kBusyTimeoutMs = 5000;
constexpr size_t kMaxListLimit = 1000;
constexpr size_t kDefaultListLimit = 100;
// Readers beyond this many callers at once wait for one to come free
// (a lookup takes tens of microseconds); each may cache 32 MiB of pages.
constexpr size_t kMaxReaders = 4;

// The certificate's rowid is what the address index refers to: 8 bytes per
// index entry rather than the 32 of its SHA-256. The index is WITHOUT ROWID
// so that the certificates of an address are one range scan of its primary
// key; addresses_by_certificate serves Remove's cascade and lists a
// certificate's addresses in the order they were indexed.
constexpr char kSchema[] = R"sql(
CREATE TABLE certificates (
  id INTEGER PRIMARY KEY,
  sha256 BLOB NOT NULL UNIQUE CHECK (length(sha256) = 32),
  der BLOB NOT NULL,
  subject TEXT NOT NULL,
  not_before INTEGER NOT NULL,
  not_after INTEGER NOT NULL,
  origin INTEGER NOT NULL CHECK (origin IN (0, 1)),
  added_us INTEGER NOT NULL,
  capabilities BLOB NOT NULL,
  capabilities_time_us INTEGER
) STRICT;
CREATE TABLE addresses (
  address TEXT NOT NULL,
  certificate INTEGER NOT NULL REFERENCES certificates (id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  PRIMARY KEY (address, certificate)
) STRICT, WITHOUT ROWID;
CREATE INDEX addresses_by_certificate ON addresses (certificate, position);
)sql";

// The columns a StoredCertificate is read from, in ReadStored's order.
#define SIGNET_STORED_COLUMNS                                                           \
  "c.id, c.sha256, c.der, c.subject, c.not_before, c.not_after, c.origin, c.added_us, " \
  "c.capabilities, c.capabilities_time_us"

enum Statement {
  kFind,
  kSelectByHash,
  kSelectById,
  kInsertCertificate,
  kInsertAddress,
  kSetPublished,
  kSetCapabilities,
  kDeleteByHash,
  kListAll,
  kListAddress,
  kAddressesOf,
  kCount,
  kBegin,
  kBeginImmediate,
  kCommit,
  kRollback,
  kStatementCount,
};

constexpr std::array<const char*, kStatementCount> kStatementSql = {
    // kFind
    "SELECT c.der, c.origin, c.added_us, c.capabilities FROM addresses a "
    "JOIN certificates c ON c.id = a.certificate WHERE a.address = ?1 "
    "ORDER BY c.not_before DESC, c.sha256",
    // kSelectByHash
    "SELECT id, origin, capabilities_time_us FROM certificates WHERE sha256 = ?1",
    // kSelectById
    "SELECT " SIGNET_STORED_COLUMNS " FROM certificates c WHERE c.id = ?1",
    // kInsertCertificate
    "INSERT INTO certificates (sha256, der, subject, not_before, not_after, origin, added_us, "
    "capabilities, capabilities_time_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    // kInsertAddress
    "INSERT INTO addresses (address, certificate, position) VALUES (?1, ?2, ?3)",
    // kSetPublished
    "UPDATE certificates SET origin = 0 WHERE id = ?1",
    // kSetCapabilities
    "UPDATE certificates SET capabilities = ?2, capabilities_time_us = ?3 WHERE id = ?1",
    // kDeleteByHash
    "DELETE FROM certificates WHERE sha256 = ?1",
    // kListAll
    "SELECT " SIGNET_STORED_COLUMNS
    " FROM certificates c WHERE c.sha256 > ?1 ORDER BY c.sha256 LIMIT ?2",
    // kListAddress
    "SELECT " SIGNET_STORED_COLUMNS
    " FROM addresses a JOIN certificates c ON c.id = a.certificate "
    "WHERE a.address = ?3 AND c.sha256 > ?1 ORDER BY c.sha256 LIMIT ?2",
    // kAddressesOf
    "SELECT address FROM addresses WHERE certificate = ?1 ORDER BY position",
    // kCount
    "SELECT count(*) FROM certificates",
    // kBegin
    "BEGIN",
    // kBeginImmediate
    "BEGIN IMMEDIATE",
    // kCommit
    "COMMIT",
    // kRollback
    "ROLLBACK",
};

absl::StatusCode CodeOf(int result) {
  switch (result & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return absl::StatusCode::kUnavailable;
    case SQLITE_NOTADB:
      return absl::StatusCode::kFailedPrecondition;
    default:
      // SQLITE_CORRUPT among them: nothing a retry mends.
      return absl::StatusCode::kInternal;
  }
}

absl::Status SqliteError(const std::string& path, sqlite3* db, int result, absl::string_view what) {
  const char* message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(result);
  return absl::Status(CodeOf(result), absl::StrCat("directory store ", path, ": ", what, ": ",
                                                   message, " (", sqlite3_errstr(result), ")"));
}

struct StatementFinalizer {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};
using StatementPtr = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

// A cached statement in use: reset and unbound when the scope ends, so the
// next user finds it clean (and a read does not keep its snapshot open).
class Use {
 public:
  explicit Use(sqlite3_stmt* statement) : statement_(statement) {}
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;
  ~Use() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }
  sqlite3_stmt* get() const { return statement_; }
  void Blob(int index, absl::string_view data) {
    sqlite3_bind_blob64(statement_, index, data.data(), data.size(), SQLITE_STATIC);
  }
  void Text(int index, absl::string_view text) {
    sqlite3_bind_text64(statement_, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
  }
  void Int(int index, int64_t value) { sqlite3_bind_int64(statement_, index, value); }
  void Null(int index) { sqlite3_bind_null(statement_, index); }
  absl::string_view ColumnBlob(int column) const {
    const void* data = sqlite3_column_blob(statement_, column);
    return data == nullptr
               ? absl::string_view()
               : absl::string_view(static_cast<const char*>(data),
                                   static_cast<size_t>(sqlite3_column_bytes(statement_, column)));
  }
  absl::string_view ColumnText(int column) const {
    const unsigned char* text = sqlite3_column_text(statement_, column);
    return text == nullptr
               ? absl::string_view()
               : absl::string_view(reinterpret_cast<const char*>(text),
                                   static_cast<size_t>(sqlite3_column_bytes(statement_, column)));
  }
  int64_t ColumnInt(int column) const { return sqlite3_column_int64(statement_, column); }
  bool ColumnIsNull(int column) const {
    return sqlite3_column_type(statement_, column) == SQLITE_NULL;
  }

 private:
  sqlite3_stmt* statement_;
};

// One SQLite connection and its prepared statements; used by one thread at
// a time.
class Connection {
 public:
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const std::string& path, bool reader) {
    sqlite3* raw = nullptr;
    const int flags =
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE | SQLITE_OPEN_NOFOLLOW;
    const int opened = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
    DbPtr db(raw);
    if (opened != SQLITE_OK) return SqliteError(path, db.get(), opened, "cannot open");
    auto connection = std::unique_ptr<Connection>(new Connection(path, std::move(db)));
    sqlite3_busy_timeout(connection->db(), kBusyTimeoutMs);
    sqlite3_extended_result_codes(connection->db(), 1);
    RETURN_IF_ERROR(connection->Execute("PRAGMA foreign_keys = ON"));
    RETURN_IF_ERROR(connection->Execute("PRAGMA synchronous = FULL"));
    if (reader) {
      RETURN_IF_ERROR(connection->Execute("PRAGMA query_only = ON"));
      // Lookups touch a few random pages of a file that may be far larger
      // than SQLite's default 2 MiB page cache; with 32 MiB the interior
      // pages of both indexes stay cached, and a lookup on a million
      // certificates took about half the time (directory_store_bench). Not
      // mmap, which was faster still: an I/O error there is SIGBUS, not a
      // status.
      RETURN_IF_ERROR(connection->Execute("PRAGMA cache_size = -32768"));
    }
    return connection;
  }

  sqlite3* db() const { return db_.get(); }
  const std::string& path() const { return path_; }

  absl::Status Error(int result, absl::string_view what) const {
    return SqliteError(path_, db_.get(), result, what);
  }

  // For statements run once (pragmas, the schema): not cached.
  absl::Status Execute(const char* sql) {
    char* message = nullptr;
    const int result = sqlite3_exec(db_.get(), sql, nullptr, nullptr, &message);
    sqlite3_free(message);  // sqlite3_errmsg says the same
    if (result != SQLITE_OK) return Error(result, sql);
    return absl::OkStatus();
  }

  // The single integer a pragma returns.
  absl::StatusOr<int64_t> QueryInt(const char* sql) {
    sqlite3_stmt* raw = nullptr;
    const int prepared = sqlite3_prepare_v2(db_.get(), sql, -1, &raw, nullptr);
    StatementPtr statement(raw);
    if (prepared != SQLITE_OK) return Error(prepared, sql);
    const int stepped = sqlite3_step(statement.get());
    if (stepped != SQLITE_ROW) return Error(stepped, sql);
    return sqlite3_column_int64(statement.get(), 0);
  }

  absl::StatusOr<std::string> QueryText(const char* sql) {
    sqlite3_stmt* raw = nullptr;
    const int prepared = sqlite3_prepare_v2(db_.get(), sql, -1, &raw, nullptr);
    StatementPtr statement(raw);
    if (prepared != SQLITE_OK) return Error(prepared, sql);
    const int stepped = sqlite3_step(statement.get());
    if (stepped != SQLITE_ROW) return Error(stepped, sql);
    const unsigned char* text = sqlite3_column_text(statement.get(), 0);
    return text == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(text));
  }

  absl::StatusOr<sqlite3_stmt*> Get(Statement which) {
    StatementPtr& cached = statements_[which];
    if (!cached) {
      sqlite3_stmt* raw = nullptr;
      const int prepared = sqlite3_prepare_v3(db_.get(), kStatementSql[which], -1,
                                              SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
      cached.reset(raw);
      if (prepared != SQLITE_OK) return Error(prepared, "preparing a statement");
    }
    return cached.get();
  }

  // Runs a statement that returns no rows.
  absl::Status Run(Use& use, absl::string_view what) {
    const int result = sqlite3_step(use.get());
    if (result != SQLITE_DONE) return Error(result, what);
    return absl::OkStatus();
  }

  absl::Status RunSimple(Statement which, absl::string_view what) {
    ASSIGN_OR_RETURN(sqlite3_stmt * statement, Get(which));
    Use use(statement);
    return Run(use, what);
  }

  // Ends an open transaction that failed part-way; nothing to report beyond
  // the failure that led here.
  void RollBack() {
    if (!sqlite3_get_autocommit(db_.get())) (void)RunSimple(kRollback, "rolling back");
  }

 private:
  Connection(std::string path, DbPtr db) : path_(std::move(path)), db_(std::move(db)) {}

  std::string path_;
  // Finalized before the connection is closed (members go in reverse).
  DbPtr db_;
  std::array<StatementPtr, kStatementCount> statements_;
};

std::string Sha256(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

// The 32-byte key from its hex form (either case).
absl::StatusOr<std::string> KeyFromHex(absl::string_view hex) {
  if (hex.size() != 64 || !std::all_of(hex.begin(), hex.end(), [](char c) {
        return absl::ascii_isxdigit(static_cast<unsigned char>(c));
      })) {
    return absl::InvalidArgumentError(
        "a certificate's key is its SHA-256 as 64 hexadecimal digits");
  }
  return absl::HexStringToBytes(hex);
}

std::string SubjectText(X509* certificate) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      X509_NAME_print_ex(bio.get(), X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253) < 0) {
    return {};
  }
  return BioContents(bio.get());
}

int64_t Micros(absl::Time time) { return absl::ToUnixMicros(time); }

// A Put request checked and taken apart, before the transaction.
struct Parsed {
  std::string sha256;
  std::vector<std::string> addresses;
  std::string subject;
  int64_t not_before = 0;
  int64_t not_after = 0;
};

absl::StatusOr<Parsed> Parse(const PutRequest& request) {
  const auto* begin = reinterpret_cast<const unsigned char*>(request.der.data());
  const unsigned char* cursor = begin;
  if (request.der.size() > static_cast<size_t>(std::numeric_limits<long>::max())) {
    return absl::InvalidArgumentError("the certificate is too large");
  }
  X509Ptr certificate(d2i_X509(nullptr, &cursor, static_cast<long>(request.der.size())));
  ERR_clear_error();
  if (!certificate) {
    return absl::InvalidArgumentError("the bytes are not a DER X.509 certificate");
  }
  if (cursor != begin + request.der.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the DER certificate is followed by ",
                     request.der.size() - static_cast<size_t>(cursor - begin), " more bytes"));
  }
  if (!request.smime_capabilities_der.empty()) {
    const auto* caps =
        reinterpret_cast<const unsigned char*>(request.smime_capabilities_der.data());
    const unsigned char* caps_cursor = caps;
    X509AlgorStackPtr algorithms(d2i_X509_ALGORS(
        nullptr, &caps_cursor, static_cast<long>(request.smime_capabilities_der.size())));
    ERR_clear_error();
    if (!algorithms || caps_cursor != caps + request.smime_capabilities_der.size()) {
      return absl::InvalidArgumentError(
          "the S/MIME capabilities are not one DER SEQUENCE OF SMIMECapability");
    }
  }
  Parsed parsed;
  ASSIGN_OR_RETURN(parsed.addresses, CertificateAddresses(certificate.get()));
  if (parsed.addresses.empty()) {
    return absl::InvalidArgumentError(
        "the certificate names no valid e-mail address (subjectAltName rfc822Name or subject "
        "emailAddress), so it could never be found");
  }
  const std::optional<absl::Time> not_before = TimeOf(X509_get0_notBefore(certificate.get()));
  const std::optional<absl::Time> not_after = TimeOf(X509_get0_notAfter(certificate.get()));
  if (!not_before || !not_after) {
    return absl::InvalidArgumentError("the certificate's validity times do not parse");
  }
  parsed.not_before = absl::ToUnixSeconds(*not_before);
  parsed.not_after = absl::ToUnixSeconds(*not_after);
  parsed.subject = SubjectText(certificate.get());
  parsed.sha256 = Sha256(request.der);
  return parsed;
}

// Reads SIGNET_STORED_COLUMNS from the current row; the addresses are
// added by the caller.
StoredCertificate ReadStored(const Use& row) {
  StoredCertificate stored;
  stored.sha256_hex = absl::BytesToHexString(row.ColumnBlob(1));
  stored.der = std::string(row.ColumnBlob(2));
  stored.subject = std::string(row.ColumnText(3));
  stored.not_before = absl::FromUnixSeconds(row.ColumnInt(4));
  stored.not_after = absl::FromUnixSeconds(row.ColumnInt(5));
  stored.origin = row.ColumnInt(6) == 0 ? StoreOrigin::kPublished : StoreOrigin::kHarvested;
  stored.added = absl::FromUnixMicros(row.ColumnInt(7));
  stored.smime_capabilities_der = std::string(row.ColumnBlob(8));
  stored.capabilities_time =
      row.ColumnIsNull(9) ? absl::InfinitePast() : absl::FromUnixMicros(row.ColumnInt(9));
  return stored;
}

absl::Status AddAddresses(Connection& connection, int64_t id, StoredCertificate& stored) {
  ASSIGN_OR_RETURN(sqlite3_stmt * statement, connection.Get(kAddressesOf));
  Use use(statement);
  use.Int(1, id);
  int result;
  while ((result = sqlite3_step(statement)) == SQLITE_ROW) {
    stored.addresses.emplace_back(use.ColumnText(0));
  }
  if (result != SQLITE_DONE) return connection.Error(result, "reading addresses");
  return absl::OkStatus();
}

// Creates the file with mode 0600 whatever the umask, before SQLite (which
// would use 0644 less the umask) sees it; its WAL and shared-memory files
// take the database file's mode.
absl::Status CreatePrivately(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) {
    if (errno == EEXIST) return absl::OkStatus();
    return absl::UnavailableError(
        absl::StrCat("directory store ", path, ": cannot create: ", std::strerror(errno)));
  }
  if (fchmod(fd.get(), 0600) != 0) {
    return absl::UnavailableError(
        absl::StrCat("directory store ", path, ": cannot set mode 0600: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

class CertificateStore::Impl {
 public:
  explicit Impl(std::unique_ptr<Connection> writer) : writer_(std::move(writer)) {}

  const std::string& path() const { return writer_->path(); }

  // The writer, under its lock: the one connection that writes.
  std::mutex& writer_mutex() { return writer_mutex_; }
  Connection& writer() { return *writer_; }

  // A reader for the caller alone; back into the pool when it goes.
  class Reader {
   public:
    Reader(Impl* impl, std::unique_ptr<Connection> connection)
        : impl_(impl), connection_(std::move(connection)) {}
    Reader(Reader&&) = default;
    ~Reader() {
      if (connection_) impl_->Release(std::move(connection_));
    }
    Connection& operator*() const { return *connection_; }
    Connection* operator->() const { return connection_.get(); }

   private:
    Impl* impl_;
    std::unique_ptr<Connection> connection_;
  };

  absl::StatusOr<Reader> AcquireReader() {
    {
      std::unique_lock lock(readers_mutex_);
      readers_free_.wait(lock, [&] { return !idle_.empty() || readers_open_ < kMaxReaders; });
      if (!idle_.empty()) {
        std::unique_ptr<Connection> connection = std::move(idle_.back());
        idle_.pop_back();
        return Reader(this, std::move(connection));
      }
      ++readers_open_;
    }
    absl::StatusOr<std::unique_ptr<Connection>> opened = Connection::Open(path(), true);
    if (!opened.ok()) {
      std::lock_guard lock(readers_mutex_);
      --readers_open_;
      readers_free_.notify_one();
      return opened.status();
    }
    return Reader(this, *std::move(opened));
  }

  // Stores one certificate within the writer's open transaction; its id.
  absl::StatusOr<int64_t> PutLocked(const PutRequest& request, const Parsed& parsed) {
    Connection& connection = *writer_;
    int64_t id = 0;
    std::optional<StoreOrigin> existing_origin;
    std::optional<int64_t> existing_caps_time;
    {
      ASSIGN_OR_RETURN(sqlite3_stmt * statement, connection.Get(kSelectByHash));
      Use use(statement);
      use.Blob(1, parsed.sha256);
      const int result = sqlite3_step(statement);
      if (result == SQLITE_ROW) {
        id = use.ColumnInt(0);
        existing_origin = use.ColumnInt(1) == 0 ? StoreOrigin::kPublished : StoreOrigin::kHarvested;
        if (!use.ColumnIsNull(2)) existing_caps_time = use.ColumnInt(2);
      } else if (result != SQLITE_DONE) {
        return connection.Error(result, "looking the certificate up");
      }
    }
    const bool has_caps = !request.smime_capabilities_der.empty() &&
                          request.capabilities_time != absl::InfinitePast();
    if (!existing_origin) {
      ASSIGN_OR_RETURN(sqlite3_stmt * statement, connection.Get(kInsertCertificate));
      Use use(statement);
      use.Blob(1, parsed.sha256);
      use.Blob(2, request.der);
      use.Text(3, parsed.subject);
      use.Int(4, parsed.not_before);
      use.Int(5, parsed.not_after);
      use.Int(6, request.origin == StoreOrigin::kPublished ? 0 : 1);
      use.Int(7, absl::ToUnixMicros(absl::Now()));
      if (has_caps) {
        use.Blob(8, request.smime_capabilities_der);
        use.Int(9, Micros(request.capabilities_time));
      } else {
        use.Blob(8, "");
        use.Null(9);
      }
      RETURN_IF_ERROR(connection.Run(use, "storing the certificate"));
      id = sqlite3_last_insert_rowid(connection.db());
      for (size_t i = 0; i < parsed.addresses.size(); ++i) {
        ASSIGN_OR_RETURN(sqlite3_stmt * insert, connection.Get(kInsertAddress));
        Use address(insert);
        address.Text(1, parsed.addresses[i]);
        address.Int(2, id);
        address.Int(3, static_cast<int64_t>(i));
        RETURN_IF_ERROR(connection.Run(address, "indexing the certificate's addresses"));
      }
      return id;
    }
    if (*existing_origin == StoreOrigin::kHarvested && request.origin == StoreOrigin::kPublished) {
      ASSIGN_OR_RETURN(sqlite3_stmt * statement, connection.Get(kSetPublished));
      Use use(statement);
      use.Int(1, id);
      RETURN_IF_ERROR(connection.Run(use, "marking the certificate published"));
    }
    if (has_caps &&
        (!existing_caps_time || Micros(request.capabilities_time) > *existing_caps_time)) {
      ASSIGN_OR_RETURN(sqlite3_stmt * statement, connection.Get(kSetCapabilities));
      Use use(statement);
      use.Int(1, id);
      use.Blob(2, request.smime_capabilities_der);
      use.Int(3, Micros(request.capabilities_time));
      RETURN_IF_ERROR(connection.Run(use, "replacing the capabilities"));
    }
    return id;
  }

  absl::StatusOr<StoredCertificate> ReadById(Connection& connection, int64_t id) {
    StoredCertificate stored;
    {
      ASSIGN_OR_RETURN(sqlite3_stmt * statement, connection.Get(kSelectById));
      Use use(statement);
      use.Int(1, id);
      const int result = sqlite3_step(statement);
      if (result != SQLITE_ROW) return connection.Error(result, "reading the certificate back");
      stored = ReadStored(use);
    }
    RETURN_IF_ERROR(AddAddresses(connection, id, stored));
    return stored;
  }

 private:
  void Release(std::unique_ptr<Connection> connection) {
    std::lock_guard lock(readers_mutex_);
    idle_.push_back(std::move(connection));
    readers_free_.notify_one();
  }

  std::mutex writer_mutex_;
  std::unique_ptr<Connection> writer_;

  std::mutex readers_mutex_;
  std::condition_variable readers_free_;
  std::vector<std::unique_ptr<Connection>> idle_;
  size_t readers_open_ = 0;
};

namespace {

// Refuses a file that is not ours before anything is written to it, and
// creates the schema in a fresh one.
absl::Status PrepareSchema(Connection& connection) {
  auto check = [&]() -> absl::StatusOr<bool> {
    ASSIGN_OR_RETURN(int64_t application_id, connection.QueryInt("PRAGMA application_id"));
    ASSIGN_OR_RETURN(int64_t version, connection.QueryInt("PRAGMA user_version"));
    ASSIGN_OR_RETURN(int64_t objects, connection.QueryInt("SELECT count(*) FROM sqlite_schema"));
    if (application_id == 0 && version == 0 && objects == 0) return true;  // empty
    if (application_id != kApplicationId) {
      return absl::FailedPreconditionError(
          absl::StrCat("directory store ", connection.path(),
                       ": the file is an SQLite database of another program (application_id ",
                       application_id, "), not a Signet directory store; refusing to use it"));
    }
    if (version > kSchemaVersion) {
      return absl::FailedPreconditionError(
          absl::StrCat("directory store ", connection.path(), ": its schema version ", version,
                       " is newer than this signetd's (", kSchemaVersion,
                       "); refusing to use it rather than damage it"));
    }
    if (version < 1) {
      return absl::FailedPreconditionError(absl::StrCat(
          "directory store ", connection.path(), ": schema version ", version, " is not one"));
    }
    return false;
  };
  ASSIGN_OR_RETURN(bool empty, check());
  // The durability of an acknowledged Put rests on WAL with synchronous
  // FULL; a file system where SQLite cannot use WAL is refused, not quietly
  // run in another mode.
  ASSIGN_OR_RETURN(std::string mode, connection.QueryText("PRAGMA journal_mode = WAL"));
  if (mode != "wal") {
    return absl::FailedPreconditionError(absl::StrCat(
        "directory store ", connection.path(),
        ": SQLite cannot use write-ahead logging there (journal mode \"", mode, "\")"));
  }
  if (!empty) return absl::OkStatus();
  RETURN_IF_ERROR(connection.Execute("BEGIN IMMEDIATE"));
  // Another process may have made it meanwhile.
  absl::StatusOr<bool> still_empty = check();
  absl::Status status = still_empty.status();
  if (status.ok() && *still_empty) {
    status = connection.Execute(kSchema);
    if (status.ok()) {
      status = connection.Execute(absl::StrCat("PRAGMA application_id = ", kApplicationId,
                                               "; PRAGMA user_version = ", kSchemaVersion)
                                      .c_str());
    }
  }
  if (status.ok()) status = connection.Execute("COMMIT");
  if (!status.ok()) connection.RollBack();
  return status;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CertificateStore>> CertificateStore::Open(const std::string& path) {
  RETURN_IF_ERROR(CreatePrivately(path));
  ASSIGN_OR_RETURN(std::unique_ptr<Connection> writer, Connection::Open(path, false));
  RETURN_IF_ERROR(PrepareSchema(*writer));
  return std::unique_ptr<CertificateStore>(
      new CertificateStore(std::make_unique<Impl>(std::move(writer))));
}

CertificateStore::CertificateStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CertificateStore::~CertificateStore() = default;

absl::StatusOr<std::vector<DirectoryCertificate>> CertificateStore::Find(
    absl::string_view address) {
  ASSIGN_OR_RETURN(Impl::Reader reader, impl_->AcquireReader());
  ASSIGN_OR_RETURN(sqlite3_stmt * statement, reader->Get(kFind));
  Use use(statement);
  use.Text(1, address);
  std::vector<DirectoryCertificate> found;
  int result;
  while ((result = sqlite3_step(statement)) == SQLITE_ROW) {
    DirectoryCertificate& certificate = found.emplace_back();
    certificate.der = std::string(use.ColumnBlob(0));
    certificate.source =
        StoreOriginName(use.ColumnInt(1) == 0 ? StoreOrigin::kPublished : StoreOrigin::kHarvested);
    certificate.added = absl::FromUnixMicros(use.ColumnInt(2));
    certificate.smime_capabilities_der = std::string(use.ColumnBlob(3));
  }
  if (result != SQLITE_DONE) return reader->Error(result, "finding certificates");
  return found;
}

absl::StatusOr<StoredCertificate> CertificateStore::Put(const PutRequest& request) {
  ASSIGN_OR_RETURN(Parsed parsed, Parse(request));
  std::lock_guard lock(impl_->writer_mutex());
  Connection& writer = impl_->writer();
  RETURN_IF_ERROR(writer.RunSimple(kBeginImmediate, "starting a transaction"));
  absl::StatusOr<int64_t> id = impl_->PutLocked(request, parsed);
  absl::StatusOr<StoredCertificate> stored =
      id.ok() ? impl_->ReadById(writer, *id) : absl::StatusOr<StoredCertificate>(id.status());
  if (stored.ok()) {
    if (absl::Status committed = writer.RunSimple(kCommit, "committing"); !committed.ok()) {
      stored = committed;
    }
  }
  if (!stored.ok()) writer.RollBack();
  return stored;
}

absl::Status CertificateStore::PutAll(absl::Span<const PutRequest> requests) {
  std::vector<Parsed> parsed;
  parsed.reserve(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    absl::StatusOr<Parsed> one = Parse(requests[i]);
    if (!one.ok()) {
      return absl::Status(one.status().code(),
                          absl::StrCat("certificate ", i, ": ", one.status().message()));
    }
    parsed.push_back(*std::move(one));
  }
  std::lock_guard lock(impl_->writer_mutex());
  Connection& writer = impl_->writer();
  RETURN_IF_ERROR(writer.RunSimple(kBeginImmediate, "starting a transaction"));
  absl::Status status;
  for (size_t i = 0; i < requests.size() && status.ok(); ++i) {
    status = impl_->PutLocked(requests[i], parsed[i]).status();
  }
  if (status.ok()) status = writer.RunSimple(kCommit, "committing");
  if (!status.ok()) writer.RollBack();
  return status;
}

absl::Status CertificateStore::Remove(absl::string_view sha256_hex) {
  ASSIGN_OR_RETURN(std::string key, KeyFromHex(sha256_hex));
  std::lock_guard lock(impl_->writer_mutex());
  Connection& writer = impl_->writer();
  ASSIGN_OR_RETURN(sqlite3_stmt * statement, writer.Get(kDeleteByHash));
  Use use(statement);
  use.Blob(1, key);
  RETURN_IF_ERROR(writer.Run(use, "removing the certificate"));
  if (sqlite3_changes(writer.db()) == 0) {
    return absl::NotFoundError(
        absl::StrCat("no certificate ", absl::AsciiStrToLower(sha256_hex), " in the store"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<StoredCertificate>> CertificateStore::List(const ListRequest& request) {
  std::string after;
  if (!request.after_sha256_hex.empty()) {
    ASSIGN_OR_RETURN(after, KeyFromHex(request.after_sha256_hex));
  }
  std::string address;
  if (!request.address.empty()) {
    ASSIGN_OR_RETURN(address, NormalizeAddress(request.address));
  }
  const size_t limit =
      request.limit == 0 ? kDefaultListLimit : std::min(request.limit, kMaxListLimit);
  ASSIGN_OR_RETURN(Impl::Reader reader, impl_->AcquireReader());
  // One snapshot for the page and its addresses.
  RETURN_IF_ERROR(reader->RunSimple(kBegin, "starting a read"));
  auto page = [&]() -> absl::StatusOr<std::vector<StoredCertificate>> {
    std::vector<std::pair<int64_t, StoredCertificate>> rows;
    {
      ASSIGN_OR_RETURN(sqlite3_stmt * statement,
                       reader->Get(address.empty() ? kListAll : kListAddress));
      Use use(statement);
      use.Blob(1, after);
      use.Int(2, static_cast<int64_t>(limit));
      if (!address.empty()) use.Text(3, address);
      int result;
      while ((result = sqlite3_step(statement)) == SQLITE_ROW) {
        rows.emplace_back(use.ColumnInt(0), ReadStored(use));
      }
      if (result != SQLITE_DONE) return reader->Error(result, "listing certificates");
    }
    std::vector<StoredCertificate> listed;
    listed.reserve(rows.size());
    for (auto& [id, stored] : rows) {
      RETURN_IF_ERROR(AddAddresses(*reader, id, stored));
      listed.push_back(std::move(stored));
    }
    return listed;
  };
  absl::StatusOr<std::vector<StoredCertificate>> listed = page();
  reader->RollBack();
  return listed;
}

absl::StatusOr<uint64_t> CertificateStore::Count() {
  ASSIGN_OR_RETURN(Impl::Reader reader, impl_->AcquireReader());
  ASSIGN_OR_RETURN(sqlite3_stmt * statement, reader->Get(kCount));
  Use use(statement);
  const int result = sqlite3_step(statement);
  if (result != SQLITE_ROW) return reader->Error(result, "counting certificates");
  return static_cast<uint64_t>(use.ColumnInt(0));
}

const char* StoreOriginName(StoreOrigin origin) {
  return origin == StoreOrigin::kPublished ? "published" : "harvested";
}

}  // namespace signet::directory
