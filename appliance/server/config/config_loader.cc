#include "appliance/server/config/config_loader.h"

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "common/text_config.h"

namespace signet::server {
namespace {

constexpr absl::string_view kWhat = "a signetd config";

}  // namespace

absl::StatusOr<config::v1::Config> ParseConfigText(absl::string_view text,
                                                   absl::string_view name_for_errors) {
  config::v1::Config config;
  RETURN_IF_ERROR(ParseTextConfig(text, name_for_errors, kWhat, config));
  return config;
}

absl::StatusOr<config::v1::Config> LoadConfig(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadConfigFile(path, kWhat));
  return ParseConfigText(text, path);
}

}  // namespace signet::server
