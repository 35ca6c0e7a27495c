#include "appliance/server/appliance.h"

#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "appliance/audit/checkpoint_signer.h"
#include "appliance/cms/recipient_check.h"
#include "appliance/server/certificate_directory.h"
#include "appliance/server/config/validation_config.h"
#include "appliance/server/timestamp_checker.h"
#include "common/log.h"
#include "common/pem_certificates.h"
#include "common/status_macros.h"

namespace signet::server {
namespace {

// Waiting operations per CPU worker.
constexpr int kQueuePerCpuWorker = 16;
// Workers that wait for TSAs (see StampQueue).
constexpr int kStampWorkers = 32;

absl::StatusOr<cms::TrustStore> ReadTrustAnchors(const std::string& path) {
  std::ifstream file(path);
  if (!file) return absl::FailedPreconditionError(absl::StrCat("cannot read ", path));
  std::stringstream pem;
  pem << file.rdbuf();
  return cms::TrustStore::FromPem(pem.str());
}

}  // namespace

absl::StatusOr<std::unique_ptr<Appliance>> Appliance::Create(const config::v1::Config& config) {
  std::unique_ptr<Appliance> appliance(new Appliance(config, config.limits().requests_per_second(),
                                                     static_cast<int>(config.limits().burst())));
  // The config's limits with their defaults, as the validator checked them.
  const EffectiveLimitValues limits = EffectiveLimits(config, HostMemoryBytes());
  appliance->server_limits_ = limits;
  appliance->buffers_ =
      std::make_unique<ByteBudget>(limits.max_buffered_bytes, limits.max_caller_buffered_bytes);
  appliance->idle_watch_ =
      std::make_unique<IdleCallWatch>(absl::Seconds(limits.upload_idle_timeout_seconds));
  appliance->limits_.max_message_bytes = limits.max_message_bytes;
  appliance->limits_.max_mime_depth = limits.max_mime_depth;
  appliance->limits_.max_asn1_depth = limits.max_asn1_depth;
  ASSIGN_OR_RETURN(appliance->keys_, KeyRegistry::Create(config));
  if (!config.trust_anchors_file().empty()) {
    ASSIGN_OR_RETURN(cms::TrustStore trust, ReadTrustAnchors(config.trust_anchors_file()));
    appliance->trust_.emplace(std::move(trust));
  }
  ASSIGN_OR_RETURN(appliance->stampings_, KeyStampingsOf(config));
  if (!config.validation().tsa_trust_anchors_file().empty()) {
    absl::StatusOr<std::vector<X509Ptr>> anchors =
        ReadPemCertificates(config.validation().tsa_trust_anchors_file());
    if (!anchors.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("validation.tsa_trust_anchors_file: ", anchors.status().message()));
    }
    appliance->timestamp_checker_ =
        TimestampCheckerFor(std::make_shared<const std::vector<X509Ptr>>(std::move(*anchors)));
  }
  if (!config.validation().recipient_trust_anchors_file().empty()) {
    ASSIGN_OR_RETURN(cms::TrustStore trust,
                     ReadTrustAnchors(config.validation().recipient_trust_anchors_file()));
    appliance->recipient_trust_.emplace(std::move(trust));
  } else if (appliance->trust_.has_value()) {
    // The same read-only store: VerifyMail's anchors are the recipients'.
    appliance->recipient_trust_ = appliance->trust_;
  }
  if (appliance->trust_.has_value() || appliance->recipient_trust_.has_value()) {
    // The CRL files are read now, so that a missing one stops the start.
    ASSIGN_OR_RETURN(appliance->validation_, ValidationPolicyOf(config.validation()));
    if (appliance->validation_.crls != nullptr) {
      appliance->crl_refresher_ = std::make_unique<pki::CrlRefresher>(
          appliance->validation_.crls, CrlRefreshInterval(config.validation()));
      appliance->crl_freshness_ = std::make_unique<pki::CrlFreshness>(
          appliance->validation_.crls, CrlStaleAfter(config.validation()));
    }
  }
  if (config.has_directory()) {
    Appliance* self = appliance.get();
    ASSIGN_OR_RETURN(appliance->directory_,
                     CertificateDirectory::Create(config.directory(), [self](X509* certificate) {
                       return self->ValidateRecipient(certificate);
                     }));
  }
  if (config.keys_size() > 0) {
    // Key operations need the audit log (docs/architecture.md, decision D11), and the
    // log needs its checkpoint key now.
    absl::StatusOr<std::shared_ptr<const ConfiguredKey>> checkpoint_key =
        appliance->keys_->Get(config.audit().checkpoint_key());
    if (!checkpoint_key.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the audit checkpoint key '", config.audit().checkpoint_key(),
                       "' is not usable: ", checkpoint_key.status().message()));
    }
    ASSIGN_OR_RETURN(
        std::unique_ptr<audit::CheckpointSigner> signer,
        audit::NewEvpCheckpointSigner((*checkpoint_key)->key.get(), appliance->keys_->libctx()));
    audit::AuditLogOptions options;
    if (config.audit().checkpoint_interval() > 0) {
      options.checkpoint_interval = config.audit().checkpoint_interval();
    }
    options.group_commit_window =
        absl::Microseconds(config.audit().group_commit_window_microseconds());
    options.warn = [](absl::string_view warning) { Log(LogLevel::kWarning, warning); };
    ASSIGN_OR_RETURN(appliance->audit_,
                     audit::AuditLog::Open(config.audit().path(), std::move(signer), options));
  }
  for (const config::v1::Token& token : config.tokens()) {
    appliance->token_queues_[token.name()] =
        std::make_unique<WorkQueue>(absl::StrCat("token ", token.name()),
                                    EffectiveMaxInFlight(token), EffectiveMaxQueue(token));
  }
  const int cpus = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  appliance->cpu_queue_ = std::make_unique<WorkQueue>("cpu", cpus, cpus * kQueuePerCpuWorker);
  if (!appliance->stampings_.empty()) {
    // A stamp is a network round trip (a TSA nearby answers in milliseconds,
    // one across the internet in a hundred or more) with little CPU: many
    // workers, so that stamped signing is bounded by the tokens, not by
    // CPUs / round trip.
    appliance->stamp_queue_ =
        std::make_unique<WorkQueue>("stamp", kStampWorkers, kStampWorkers * kQueuePerCpuWorker);
  }
  return appliance;
}

Appliance::~Appliance() {
  Drain();
  // Its workers validate with the trust stores and the audit log below.
  directory_.reset();
  // Queues join their workers before the keys they use go away.
  token_queues_.clear();
  stamp_queue_.reset();
  cpu_queue_.reset();
  if (audit_) audit_->Close().IgnoreError();
}

absl::Status Appliance::ValidateRecipient(X509* certificate) const {
  if (!recipient_trust_.has_value()) {
    return absl::FailedPreconditionError(
        "the appliance has no recipient trust anchors configured "
        "(validation.recipient_trust_anchors_file or trust_anchors_file)");
  }
  return cms::CheckRecipients({.libctx = keys_->libctx(), .limits = limits_}, *recipient_trust_,
                              {certificate}, {.validation = &validation_});
}

WorkQueue& Appliance::TokenQueue(const std::string& token) { return *token_queues_.at(token); }

bool Appliance::Idle() const {
  for (const auto& [name, queue] : token_queues_) {
    if (queue->running() > 0 || queue->queued() > 0) return false;
  }
  if (stamp_queue_ && (stamp_queue_->running() > 0 || stamp_queue_->queued() > 0)) return false;
  if (directory_ && (directory_->queue().running() > 0 || directory_->queue().queued() > 0)) {
    return false;
  }
  return !cpu_queue_ || (cpu_queue_->running() == 0 && cpu_queue_->queued() == 0);
}

void Appliance::Drain() {
  for (auto& [name, queue] : token_queues_) queue->Shutdown();
  if (stamp_queue_) stamp_queue_->Shutdown();
  if (cpu_queue_) cpu_queue_->Shutdown();
  if (directory_) directory_->queue().Shutdown();
}

}  // namespace signet::server
