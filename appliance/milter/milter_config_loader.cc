#include "appliance/milter/milter_config_loader.h"

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "common/text_config.h"

namespace signet::milter {
namespace {

constexpr absl::string_view kWhat = "a signet-milter config";

}  // namespace

absl::StatusOr<v1::MilterConfig> ParseMilterConfigText(absl::string_view text,
                                                       absl::string_view name_for_errors) {
  v1::MilterConfig config;
  RETURN_IF_ERROR(ParseTextConfig(text, name_for_errors, kWhat, config));
  return config;
}

absl::StatusOr<v1::MilterConfig> LoadMilterConfig(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadConfigFile(path, kWhat));
  return ParseMilterConfigText(text, path);
}

}  // namespace signet::milter
