#include "appliance/dev/dev_config.h"

#include <google/protobuf/text_format.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace signet::dev {

// Generated from firmware-config/ at build time (dev_templates.cc).
extern const char kDevConfigTemplate[];
extern const char kSoftHsmConfTemplate[];

namespace {
constexpr char kPlaceholderDir[] = "/tmp/signet-dev";
}  // namespace

absl::StatusOr<config::v1::Config> DevConfig(const DevConfigOptions& options) {
  const std::string text =
      absl::StrReplaceAll(kDevConfigTemplate, {{kPlaceholderDir, options.dir}});
  config::v1::Config config;
  if (!google::protobuf::TextFormat::ParseFromString(text, &config)) {
    return absl::InternalError("the built-in dev config template does not parse");
  }
  for (config::v1::Token& token : *config.mutable_tokens()) token.set_module(options.module_path);
  for (config::v1::Caller& caller : *config.mutable_callers()) {
    if (caller.has_unix_uid()) caller.set_unix_uid(options.uid);
  }
  auto* listeners = config.mutable_listeners();
  for (auto listener = listeners->begin(); listener != listeners->end();) {
    if (listener->has_tcp() && options.tcp_address.empty()) {
      listener = listeners->erase(listener);
      continue;
    }
    if (listener->has_tcp()) listener->mutable_tcp()->set_address(options.tcp_address);
    ++listener;
  }
  config.mutable_timestamp_authority()->set_http_address(options.tsa_address);
  for (config::v1::Key& key : *config.mutable_keys()) {
    if (!key.has_timestamps()) continue;
    // The keys' own TSA is the dev TSA's listener; without it there is no
    // TSA to ask (signetd asks over HTTP), so they do not stamp.
    if (options.tsa_address.empty()) {
      key.clear_timestamps();
    } else {
      key.mutable_timestamps()->clear_tsa_urls();
      key.mutable_timestamps()->add_tsa_urls(absl::StrCat("http://", options.tsa_address, "/"));
    }
  }
  return config;
}

std::string DevConfigText(const config::v1::Config& config, const std::string& dir) {
  std::string body;
  google::protobuf::TextFormat::PrintToString(config, &body);
  return absl::StrCat("# Written by `signetd --dev ", dir, "` at every start: edit\n",
                      "# firmware-config/dev.textproto instead, or copy this file and run\n",
                      "#   SOFTHSM2_CONF=", dir, "/softhsm/softhsm2.conf signetd --config <copy>\n",
                      "# Schema: proto/signet/config/v1/config.proto; docs/operations.md.\n\n",
                      body);
}

std::string SoftHsmConf(const std::string& token_dir) {
  return absl::StrReplaceAll(kSoftHsmConfTemplate, {{"@TOKENDIR@", token_dir}});
}

}  // namespace signet::dev
