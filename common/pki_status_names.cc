#include "common/pki_status_names.h"

#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"

namespace signet {
namespace {

constexpr const char* kStatusNames[] = {"granted", "grantedWithMods",   "rejection",
                                        "waiting", "revocationWarning", "revocationNotification"};
constexpr std::pair<int, const char*> kFailureBits[] = {{0, "badAlg"},
                                                        {2, "badRequest"},
                                                        {5, "badDataFormat"},
                                                        {14, "timeNotAvailable"},
                                                        {15, "unacceptedPolicy"},
                                                        {16, "unacceptedExtension"},
                                                        {17, "addInfoNotAvailable"},
                                                        {25, "systemFailure"}};

}  // namespace

std::string PkiStatusName(long status) {
  if (status >= 0 && status < static_cast<long>(std::size(kStatusNames))) {
    return kStatusNames[status];
  }
  return absl::StrCat("status ", status);
}

std::vector<std::string> PkiFailureNames(const ASN1_BIT_STRING* bits) {
  std::vector<std::string> names;
  if (bits == nullptr) return names;
  for (const auto& [bit, name] : kFailureBits) {
    if (ASN1_BIT_STRING_get_bit(bits, bit) == 1) names.emplace_back(name);
  }
  return names;
}

}  // namespace signet
