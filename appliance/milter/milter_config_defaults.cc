#include "appliance/milter/milter_config_defaults.h"

#include "signet/milter/v1/milter_config.pb.h"

namespace signet::milter {

v1::MilterConfig WithDefaults(v1::MilterConfig config) {
  if (config.listen_mode() == 0) config.set_listen_mode(kDefaultListenMode);
  if (config.max_message_bytes() == 0) config.set_max_message_bytes(kDefaultMaxMessageBytes);
  if (config.signetd_timeout_seconds() == 0) {
    config.set_signetd_timeout_seconds(kDefaultSignetdTimeoutSeconds);
  }
  if (config.mta_connect_timeout_seconds() == 0) {
    config.set_mta_connect_timeout_seconds(kPostfixConnectTimeoutSeconds);
  }
  if (config.mta_command_timeout_seconds() == 0) {
    config.set_mta_command_timeout_seconds(kPostfixCommandTimeoutSeconds);
  }
  if (config.mta_content_timeout_seconds() == 0) {
    config.set_mta_content_timeout_seconds(kPostfixContentTimeoutSeconds);
  }
  v1::Outbound& outbound = *config.mutable_outbound();
  if (outbound.on_missing_certificate() == v1::MISSING_CERTIFICATE_ACTION_UNSPECIFIED) {
    outbound.set_on_missing_certificate(v1::REJECT);
  }
  for (v1::InboundRule& rule : *config.mutable_inbound()->mutable_rules()) {
    if (!rule.has_verify()) rule.set_verify(true);
    if (!rule.has_require_trusted_chain()) rule.set_require_trusted_chain(true);
  }
  return config;
}

}  // namespace signet::milter
