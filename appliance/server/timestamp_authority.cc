#include "appliance/server/timestamp_authority.h"

#include <openssl/bn.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "appliance/audit/input_digest.h"
#include "appliance/pki/chain_validation.h"
#include "appliance/server/exception_status.h"
#include "common/asn1_text.h"
#include "common/log.h"
#include "common/ossl_ptr.h"
#include "common/pki_status_names.h"
#include "common/status_macros.h"

namespace signet::server {
namespace {

// Serials are reserved this many at a time (one fsync each); a crash loses
// the unused rest of a block, never uniqueness.
constexpr uint64_t kSerialBlock = 1024;

// What the audit record says of a refused stamp: the code says who is to
// blame (the request, the clock, the TSA), the reason which failure.
absl::Status AuditResult(const TimestampReply& reply) {
  if (reply.status == 0 || reply.status == 1) return absl::OkStatus();
  const std::string reason = absl::StrCat("rejection: ", reply.failure);
  if (reply.failure == "timeNotAvailable") return absl::UnavailableError(reason);
  if (reply.failure == "systemFailure" || reply.failure.empty()) {
    return absl::InternalError(reason);
  }
  return absl::InvalidArgumentError(reason);
}

TimestampReply SystemFailureReply() { return DescribeTimestampReply(tsa::SystemFailureResponse()); }

absl::StatusOr<std::unique_ptr<tsa::SerialCounter>> OpenSerials(const std::string& path) {
  // The directory must exist: signetd makes files, not directory trees, and
  // a missing directory is more likely a wrong path than a new TSA.
  const std::string directory = path.substr(0, path.rfind('/') + 1);
  struct stat info {};
  if (stat(directory.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "timestamp_authority.serial_file: the directory ", directory, " does not exist"));
  }
  const bool exists = stat(path.c_str(), &info) == 0;
  if (!exists && errno != ENOENT) {
    return absl::FailedPreconditionError(
        absl::StrCat("timestamp_authority.serial_file ", path, ": ", std::strerror(errno)));
  }
  if (!exists) {
    // A new TSA starts at serial 1. The same happens if the file of a TSA
    // that issued stamps is lost, so say it loudly (docs/operations.md).
    Log(LogLevel::kWarning, absl::StrCat("timestamp_authority.serial_file ", path,
                                         " does not exist: creating it, serials start at 1"));
  }
  absl::StatusOr<std::unique_ptr<tsa::SerialCounter>> counter = tsa::SerialCounter::Open(
      {.state_path = path, .block_size = kSerialBlock, .create_if_missing = true});
  if (!counter.ok()) {
    return absl::Status(
        counter.status().code(),
        absl::StrCat("timestamp_authority.serial_file ", path, ": ", counter.status().message()));
  }
  return counter;
}

}  // namespace

TimestampReply DescribeTimestampReply(std::string der) {
  TimestampReply reply;
  reply.der = std::move(der);
  const auto* cursor = reinterpret_cast<const unsigned char*>(reply.der.data());
  TsRespPtr parsed(d2i_TS_RESP(nullptr, &cursor, static_cast<long>(reply.der.size())));
  if (!parsed) return reply;
  TS_STATUS_INFO* info = TS_RESP_get_status_info(parsed.get());
  reply.status = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(info));
  reply.failure = absl::StrJoin(PkiFailureNames(TS_STATUS_INFO_get0_failure_info(info)), ",");
  if (const TS_TST_INFO* token = TS_RESP_get_tst_info(parsed.get())) {
    reply.serial_hex = IntegerHex(TS_TST_INFO_get_serial(token));
  }
  return reply;
}

absl::StatusOr<std::unique_ptr<TimestampAuthority>> TimestampAuthority::Create(
    const config::v1::Config& config, Appliance& appliance) {
  if (!config.has_timestamp_authority()) return nullptr;
  const config::v1::TimestampAuthority& tsa = config.timestamp_authority();
  ASSIGN_OR_RETURN(std::unique_ptr<tsa::SerialCounter> serials, OpenSerials(tsa.serial_file()));
  std::string token;
  for (const config::v1::Key& key : config.keys()) {
    if (key.name() == tsa.key()) token = key.token();
  }
  std::unique_ptr<TimestampAuthority> authority(
      new TimestampAuthority(tsa, std::move(token), appliance, std::move(serials)));
  absl::StatusOr<std::shared_ptr<const ConfiguredKey>> key = appliance.keys().Get(tsa.key());
  if (!key.ok()) {
    // Like any key: an absent token does not stop the daemon; the key and
    // its certificate are checked when it can first be loaded.
    Log(LogLevel::kWarning,
        absl::StrCat("timestamp_authority.key '", tsa.key(),
                     "' is not usable now, stamps wait for it: ", key.status().message()));
    return authority;
  }
  absl::StatusOr<std::shared_ptr<const Loaded>> loaded = authority->Load(*key);
  if (!loaded.ok()) return loaded.status();
  authority->loaded_ = *std::move(loaded);
  return authority;
}

absl::StatusOr<std::shared_ptr<const TimestampAuthority::Loaded>> TimestampAuthority::Load(
    std::shared_ptr<const ConfiguredKey> key) {
  if (key->chain.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("timestamp_authority.key '", config_.key(),
                     "' has no certificate (a TSA certificate with the critical extended key "
                     "usage timeStamping is required)"));
  }
  tsa::TsaResponderOptions options;
  options.key = key->key.get();
  options.certificate = key->chain.front().get();
  // The issuers, without a self-signed root: a verifier has its own.
  for (size_t i = 1; i < key->chain.size(); ++i) {
    X509* issuer = key->chain[i].get();
    if (X509_check_issued(issuer, issuer) == X509_V_OK) continue;
    options.chain.push_back(issuer);
  }
  options.policies.assign(config_.policies().begin(), config_.policies().end());
  if (!config_.digests().empty()) {
    options.imprint_digests.clear();
    for (const std::string& digest : config_.digests()) {
      options.imprint_digests.push_back(absl::AsciiStrToUpper(digest));
    }
  }
  options.accuracy = {.seconds = static_cast<int>(config_.accuracy_seconds()),
                      .millis = static_cast<int>(config_.accuracy_millis()),
                      .micros = 0};
  options.ordering = config_.ordering();
  options.include_tsa_name = config_.include_tsa_name();
  tsa::SerialCounter* serials = serials_.get();
  options.next_serial = [serials] { return serials->Next(); };
  // Empty: not checked (the operator keeps the time by other means).
  if (config_.allow_unsynchronized_clock()) options.clock_synchronized = nullptr;
  options.libctx = appliance_.keys().libctx();
  absl::StatusOr<std::unique_ptr<tsa::TsaResponder>> responder =
      tsa::TsaResponder::Create(std::move(options));
  if (!responder.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("timestamp_authority.key '", config_.key(),
                                                      "': ", responder.status().message()));
  }
  auto loaded = std::make_shared<Loaded>();
  loaded->tsa_name = pki::NameText(X509_get_subject_name(key->chain.front().get()));
  loaded->key = std::move(key);
  loaded->responder = *std::move(responder);
  return loaded;
}

absl::StatusOr<std::shared_ptr<const TimestampAuthority::Loaded>> TimestampAuthority::Current() {
  ASSIGN_OR_RETURN(std::shared_ptr<const ConfiguredKey> key, appliance_.keys().Get(config_.key()));
  std::lock_guard lock(mutex_);
  if (loaded_ == nullptr || loaded_->key != key) {
    ASSIGN_OR_RETURN(loaded_, Load(std::move(key)));
  }
  return loaded_;
}

void TimestampAuthority::Stamp(const std::string& caller, std::string query, absl::Time deadline,
                               Done done) {
  auto shared_done = std::make_shared<Done>(std::move(done));
  absl::Status submitted = appliance_.TokenQueue(token_).Submit(
      deadline, [this, caller, query = std::move(query), shared_done](absl::Status start) {
        if (!start.ok()) return (*shared_done)(start);
        // Answered once, whatever is thrown (the caller waits for it).
        absl::Status failed = RunCatching([&] { StampOnWorker(caller, query, *shared_done); });
        if (!failed.ok()) (*shared_done)(SystemFailureReply());
      });
  if (!submitted.ok()) (*shared_done)(submitted);
}

void TimestampAuthority::StampOnWorker(const std::string& caller, const std::string& query,
                                       const Done& done) {
  audit::AuditLog* log = appliance_.audit();
  // Nothing is signed that could not be recorded.
  if (log == nullptr || !log->status().ok()) return done(SystemFailureReply());
  absl::StatusOr<std::shared_ptr<const Loaded>> loaded = Current();
  TimestampReply reply = DescribeTimestampReply(loaded.ok() ? (*loaded)->responder->Respond(query)
                                                            : tsa::SystemFailureResponse());
  audit::AuditEvent event{.caller = caller,
                          .operation = "TIMESTAMP",
                          .key = config_.key(),
                          .input_sha256 = audit::InputDigest(query),
                          .result = loaded.ok() ? AuditResult(reply) : loaded.status()};
  if (!reply.serial_hex.empty()) {
    event.timestamp_serial_hex = reply.serial_hex;
    event.timestamp_tsa = (*loaded)->tsa_name;
  }
  auto shared_reply = std::make_shared<TimestampReply>(std::move(reply));
  absl::Status queued =
      log->AppendAsync(event, [done, shared_reply](absl::StatusOr<uint64_t> recorded) {
        // A stamp whose record is not on disk is never released.
        done(recorded.ok() ? std::move(*shared_reply) : SystemFailureReply());
      });
  if (!queued.ok()) done(SystemFailureReply());
}

std::string TimestampAuthority::StampForHttp(std::string query, absl::Duration timeout) {
  // Shared: a reply that comes after the wait gave up goes nowhere.
  auto promise = std::make_shared<std::promise<std::string>>();
  std::future<std::string> reply = promise->get_future();
  Stamp(kHttpCaller, std::move(query), absl::Now() + timeout,
        [promise](absl::StatusOr<TimestampReply> stamped) {
          promise->set_value(stamped.ok() ? std::move(stamped->der) : tsa::SystemFailureResponse());
        });
  // A little past the queue deadline: a stamp that started in time is not
  // cut off while its record is being written.
  if (reply.wait_for(absl::ToChronoSeconds(timeout + absl::Seconds(5))) !=
      std::future_status::ready) {
    return tsa::SystemFailureResponse();
  }
  return reply.get();
}

}  // namespace signet::server
