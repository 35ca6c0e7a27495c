// signetd's own time-stamping authority (config timestamp_authority, RFC
// 3161): tsa::TsaResponder on a token key, its serials from a SerialCounter
// on the serial file. Each stamp runs on the key's token queue, never on a
// gRPC or HTTP thread, and is one TIMESTAMP audit record written before the
// reply is released (docs/architecture.md, decision D11): a reply whose
// record cannot be written becomes systemFailure.
#ifndef SIGNET_APPLIANCE_SERVER_TIMESTAMP_AUTHORITY_H_
#define SIGNET_APPLIANCE_SERVER_TIMESTAMP_AUTHORITY_H_

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "appliance/server/appliance.h"
#include "appliance/tsa/serial_counter.h"
#include "appliance/tsa/tsa_responder.h"
#include "signet/config/v1/config.pb.h"

namespace signet::server {

// A DER TimeStampResp and what it says.
struct TimestampReply {
  std::string der;
  // PKIStatus: 0 granted, 1 grantedWithMods, 2 rejection...; -1 when the
  // DER does not parse (which Respond never gives).
  long status = -1;
  // The PKIFailureInfo's names, comma-separated ("badAlg").
  std::string failure;
  // The token's serial number, hex (upper case); empty without a token.
  std::string serial_hex;
};

// Parses a reply the responder made.
TimestampReply DescribeTimestampReply(std::string der);

class TimestampAuthority {
 public:
  // The caller name in the audit records of stamps asked over HTTP, which
  // has no credentials; no configured caller can have it (names have no
  // parentheses).
  static constexpr char kHttpCaller[] = "(http)";

  // Null when the config has no timestamp_authority. Opens the serial file
  // (creating it when missing: see docs/operations.md) and, when its token
  // is present, loads the key and checks its certificate (FAILED_PRECONDITION
  // naming timestamp_authority.key when it is not a TSA's). A key whose token
  // is absent at start is loaded, and checked, at its first stamp.
  static absl::StatusOr<std::unique_ptr<TimestampAuthority>> Create(
      const config::v1::Config& config, Appliance& appliance);

  TimestampAuthority(const TimestampAuthority&) = delete;
  TimestampAuthority& operator=(const TimestampAuthority&) = delete;

  // The reply to `query` (a DER TimeStampReq) for `caller`: a rejection is a
  // reply too. An error only when the stamp never ran: the token queue is
  // full (RESOURCE_EXHAUSTED) or shut down, or `deadline` passed in it.
  // `done` is called exactly once, on a worker or the audit log's thread,
  // and must not block.
  using Done = std::function<void(absl::StatusOr<TimestampReply>)>;
  void Stamp(const std::string& caller, std::string query, absl::Time deadline, Done done);

  // For the HTTP listener: the DER reply, waiting at most `timeout`;
  // systemFailure for everything Stamp reports as an error.
  std::string StampForHttp(std::string query, absl::Duration timeout);

  const std::string& key_name() const { return config_.key(); }

 private:
  // A key as loaded, and the responder made for it.
  struct Loaded {
    std::shared_ptr<const ConfiguredKey> key;
    std::unique_ptr<tsa::TsaResponder> responder;
    std::string tsa_name;
  };

  TimestampAuthority(config::v1::TimestampAuthority config, std::string token, Appliance& appliance,
                     std::unique_ptr<tsa::SerialCounter> serials)
      : config_(std::move(config)),
        token_(std::move(token)),
        appliance_(appliance),
        serials_(std::move(serials)) {}

  // The responder for the key as the registry has it now: made again when
  // the registry loaded the key anew (its token came back, its certificate
  // was replaced).
  absl::StatusOr<std::shared_ptr<const Loaded>> Current();
  absl::StatusOr<std::shared_ptr<const Loaded>> Load(std::shared_ptr<const ConfiguredKey> key);
  // On the token's worker: respond, record, then `done`.
  void StampOnWorker(const std::string& caller, const std::string& query, const Done& done);

  const config::v1::TimestampAuthority config_;
  // The key's token, whose queue runs the stamps.
  const std::string token_;
  Appliance& appliance_;
  const std::unique_ptr<tsa::SerialCounter> serials_;
  std::mutex mutex_;
  std::shared_ptr<const Loaded> loaded_;  // guarded by mutex_
};

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_TIMESTAMP_AUTHORITY_H_
