// Everything signetd's services share: the keys on their tokens, who may do
// what, the per-token work queues, the trust anchors, the audit log.
#ifndef SIGNET_APPLIANCE_SERVER_APPLIANCE_H_
#define SIGNET_APPLIANCE_SERVER_APPLIANCE_H_

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "appliance/audit/audit_log.h"
#include "appliance/cms/limits.h"
#include "appliance/cms/trust_store.h"
#include "appliance/cms/verifier.h"
#include "appliance/pki/crl_freshness.h"
#include "appliance/pki/crl_refresher.h"
#include "appliance/pki/validation_policy.h"
#include "appliance/server/authorizer.h"
#include "appliance/server/byte_budget.h"
#include "appliance/server/certificate_directory.h"
#include "appliance/server/config/config_defaults.h"
#include "appliance/server/idle_call_watch.h"
#include "appliance/server/key_registry.h"
#include "appliance/server/rate_limiter.h"
#include "appliance/server/signature_stamping.h"
#include "appliance/server/work_queue.h"
#include "signet/config/v1/config.pb.h"

namespace signet::server {

class Appliance {
 public:
  // Opens the tokens, keys, trust anchors and the audit log of a validated
  // config.
  static absl::StatusOr<std::unique_ptr<Appliance>> Create(const config::v1::Config& config);
  // Drains the work queues before the keys and tokens go.
  ~Appliance();

  KeyRegistry& keys() { return *keys_; }
  const Authorizer& authorizer() const { return authorizer_; }
  RateLimiter& rate_limiter() { return rate_limiter_; }
  const cms::Limits& limits() const { return limits_; }
  // The config's limits with their defaults (the byte budget's, gRPC's).
  const EffectiveLimitValues& server_limits() const { return server_limits_; }
  // What mail calls in flight may hold, and the watch that ends the calls
  // whose clients stopped sending.
  ByteBudget& buffers() { return *buffers_; }
  IdleCallWatch& idle_watch() { return *idle_watch_; }
  // Null when the config names no trust anchors (VerifyMail is then
  // FAILED_PRECONDITION).
  const cms::TrustStore* trust() const { return trust_ ? &*trust_ : nullptr; }
  // Judges the time-stamps on signatures VerifyMail checks (null without
  // validation.tsa_trust_anchors_file).
  const cms::TimestampChecker& timestamp_checker() const { return timestamp_checker_; }
  // The time-stamping of a key's signatures (keys[].timestamps); null when
  // the key has none.
  std::shared_ptr<const KeyStamping> stamping(const std::string& key) const {
    auto found = stampings_.find(key);
    return found == stampings_.end() ? nullptr : found->second;
  }
  // The CAs recipient certificates must chain to before EncryptMail and
  // SignAndEncryptMail encrypt to them: validation.recipient_trust_anchors_file,
  // else trust(). Null when neither is configured (encryption is then
  // FAILED_PRECONDITION unless the caller skips the validation).
  const cms::TrustStore* recipient_trust() const {
    return recipient_trust_ ? &*recipient_trust_ : nullptr;
  }
  // Revocation and certificate policies for chains to those anchors (both
  // kinds).
  const pki::ValidationPolicy& validation() const { return validation_; }
  // Null when no CRL is consulted (revocation off everywhere).
  pki::CrlFreshness* crl_freshness() { return crl_freshness_.get(); }
  // Null when no key is configured (then no key operation can happen).
  audit::AuditLog* audit() { return audit_.get(); }
  // The certificate directory; null when the config has none.
  CertificateDirectory* directory() { return directory_.get(); }
  // Whether a certificate may be encrypted to: a chain to recipient_trust()
  // with validation(), as EncryptMail checks the certificates it is given.
  // FAILED_PRECONDITION without recipient trust anchors.
  absl::Status ValidateRecipient(X509* certificate) const;

  // The queue of a token (by its configured name), and the queue of work
  // that uses no token (encryption, verification).
  WorkQueue& TokenQueue(const std::string& token);
  WorkQueue& CpuQueue() { return *cpu_queue_; }
  // Where signatures wait for their time-stamps: workers that mostly wait
  // on TSAs, so that a slow TSA stalls neither a token nor the CPU work.
  // Null when no key is time-stamped.
  WorkQueue* StampQueue() { return stamp_queue_.get(); }

  // Refuses new work and lets queued work finish (SIGTERM).
  void Drain();

  // The first step of a shutdown: new calls are refused (UNAVAILABLE,
  // retryable) while the calls already admitted go on.
  void StopAdmitting() { admitting_.store(false, std::memory_order_release); }
  bool admitting() const { return admitting_.load(std::memory_order_acquire); }
  // No work queued or running on any queue.
  bool Idle() const;

 private:
  Appliance(const config::v1::Config& config, double rate, int burst)
      : authorizer_(config), rate_limiter_(rate, burst) {}

  std::shared_ptr<KeyRegistry> keys_;
  Authorizer authorizer_;
  RateLimiter rate_limiter_;
  cms::Limits limits_;
  EffectiveLimitValues server_limits_{};
  std::unique_ptr<ByteBudget> buffers_;
  std::unique_ptr<IdleCallWatch> idle_watch_;
  std::optional<cms::TrustStore> trust_;
  std::optional<cms::TrustStore> recipient_trust_;
  cms::TimestampChecker timestamp_checker_;
  std::map<std::string, std::shared_ptr<const KeyStamping>> stampings_;
  pki::ValidationPolicy validation_;
  std::unique_ptr<pki::CrlRefresher> crl_refresher_;
  std::unique_ptr<pki::CrlFreshness> crl_freshness_;
  std::unique_ptr<audit::AuditLog> audit_;
  std::map<std::string, std::unique_ptr<WorkQueue>> token_queues_;
  std::unique_ptr<WorkQueue> cpu_queue_;
  std::unique_ptr<WorkQueue> stamp_queue_;
  std::atomic<bool> admitting_{true};
  // Last: it validates with the members above, so it goes first.
  std::unique_ptr<CertificateDirectory> directory_;
};

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_APPLIANCE_H_
