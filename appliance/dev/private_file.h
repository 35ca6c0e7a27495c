// Files dev mode writes: created with their final mode (never briefly
// world-readable) and replaced atomically (a crash leaves the old file or the
// new one, never half of one).
#ifndef SIGNET_APPLIANCE_DEV_PRIVATE_FILE_H_
#define SIGNET_APPLIANCE_DEV_PRIVATE_FILE_H_

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace signet::dev {

absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents, mode_t mode);

// Makes the directory (and its parents) if missing and gives it `mode`.
absl::Status MakeDirectory(const std::string& path, mode_t mode);

bool FileExists(const std::string& path);

absl::StatusOr<std::string> ReadWholeFile(const std::string& path);

}  // namespace signet::dev

#endif  // SIGNET_APPLIANCE_DEV_PRIVATE_FILE_H_
