#include "appliance/server/signature_stamping.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "appliance/cms/signature_timestamp.h"
#include "common/log.h"
#include "common/pem_certificates.h"
#include "common/status_macros.h"

namespace signet::server {
namespace {

constexpr uint32_t kDefaultTimeoutSeconds = 5;

google::protobuf::Timestamp ProtoTime(absl::Time time) {
  google::protobuf::Timestamp out;
  const absl::Duration since = time - absl::UnixEpoch();
  out.set_seconds(absl::ToInt64Seconds(since));
  out.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(since % absl::Seconds(1))));
  return out;
}

}  // namespace

absl::StatusOr<std::map<std::string, std::shared_ptr<const KeyStamping>>> KeyStampingsOf(
    const config::v1::Config& config) {
  std::map<std::string, std::shared_ptr<const KeyStamping>> stampings;
  for (const config::v1::Key& key : config.keys()) {
    if (!key.has_timestamps()) continue;
    const config::v1::SignatureTimestamps& settings = key.timestamps();
    const std::string where = absl::StrCat("key '", key.name(), "' timestamps");
    absl::StatusOr<std::vector<X509Ptr>> anchors =
        ReadPemCertificates(settings.tsa_trust_anchors_file());
    if (!anchors.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat(where, ".tsa_trust_anchors_file: ", anchors.status().message()));
    }
    timestamp::TsaClientOptions options;
    options.urls.assign(settings.tsa_urls().begin(), settings.tsa_urls().end());
    options.policy_oid = settings.policy();
    options.timeout = absl::Seconds(settings.timeout_seconds() != 0 ? settings.timeout_seconds()
                                                                    : kDefaultTimeoutSeconds);
    for (const X509Ptr& anchor : *anchors) options.anchors.push_back(anchor.get());
    absl::StatusOr<std::unique_ptr<timestamp::TsaClient>> client =
        timestamp::TsaClient::Create(options);
    if (!client.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(where, ": ", client.status().message()));
    }
    auto stamping = std::make_shared<KeyStamping>();
    stamping->client = std::move(*client);
    stamping->best_effort = settings.mode() == config::v1::TIMESTAMP_BEST_EFFORT;
    stamping->always = settings.always();
    stampings[key.name()] = std::move(stamping);
  }
  return stampings;
}

StampedOutput StampSignatures(const KeyStamping& stamping, const cms::CmsContext& context,
                              std::string signed_output, SignedKind kind) {
  StampedOutput result;
  // The last stamp's facts: one signer per call in signetd's signatures.
  std::optional<timestamp::Timestamp> last;
  const cms::StampFunction stamp = [&](absl::string_view signature) -> absl::StatusOr<std::string> {
    ASSIGN_OR_RETURN(timestamp::Timestamp stamped, stamping.client->Stamp(signature));
    std::string token = stamped.facts.token_der;
    last = std::move(stamped);
    return token;
  };
  absl::StatusOr<std::string> stamped =
      kind == SignedKind::kMail ? cms::TimestampSignedMail(context, signed_output, stamp)
                                : cms::AddSignatureTimestamps(context, signed_output, stamp);
  if (stamped.ok() && last.has_value()) {
    result.output = std::move(*stamped);
    result.report.set_stamped(true);
    *result.report.mutable_time() = ProtoTime(last->facts.gen_time);
    result.report.set_tsa(last->facts.tsa_name);
    result.report.set_policy(last->facts.policy_oid);
    result.report.set_serial_hex(last->facts.serial_hex);
    result.report.set_url(last->url);
    return result;
  }
  const std::string problem(stamped.ok() ? "no signature was stamped" : stamped.status().message());
  result.report.set_stamped(false);
  result.report.set_problem(problem);
  if (stamping.best_effort) {
    Log(LogLevel::kWarning,
        absl::StrCat("a signature goes out without its time-stamp (best effort): ", problem));
    result.output = std::move(signed_output);
  } else {
    result.output = absl::UnavailableError(
        absl::StrCat("the signature could not be time-stamped, so it is not released: ", problem));
  }
  return result;
}

}  // namespace signet::server
