// ASN.1 times (certificate, CRL and attribute times) as absl::Time.
#ifndef SIGNET_COMMON_ASN1_TIME_H_
#define SIGNET_COMMON_ASN1_TIME_H_

#include <openssl/asn1.h>

#include <ctime>
#include <optional>

#include "absl/time/time.h"

namespace signet {

// UTCTime or GeneralizedTime; nullopt for null or one that does not parse.
inline std::optional<absl::Time> TimeOf(const ASN1_TIME* time) {
  if (time == nullptr) return std::nullopt;
  struct tm parts = {};
  if (ASN1_TIME_to_tm(time, &parts) != 1) return std::nullopt;
  return absl::FromTM(parts, absl::UTCTimeZone());
}

}  // namespace signet

#endif  // SIGNET_COMMON_ASN1_TIME_H_
