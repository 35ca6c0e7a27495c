// absl::Time as the API's google.protobuf.Timestamp, in whole seconds:
// certificate and CRL times have no finer precision to give.
#ifndef SIGNET_APPLIANCE_SERVER_PROTO_TIME_H_
#define SIGNET_APPLIANCE_SERVER_PROTO_TIME_H_

#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/time_util.h>

#include "absl/time/time.h"

namespace signet::server {

inline google::protobuf::Timestamp TimestampOf(absl::Time time) {
  return google::protobuf::util::TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(time));
}

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_PROTO_TIME_H_
