// A mail as its chunks arrive: blocks of up to 1 MiB, each drawn from the
// call's share of the byte budget before it is allocated, so that what the
// budget counts is what the call holds (a growing string would hold up to
// twice what arrived, and three times while it is copied to grow). Once the
// upload is complete, Take() joins the blocks into the one string the CMS
// layer works on, freeing each block as it is copied.
#ifndef SIGNET_APPLIANCE_SERVER_MAIL_BUFFER_H_
#define SIGNET_APPLIANCE_SERVER_MAIL_BUFFER_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "appliance/server/byte_budget.h"

namespace signet::server {

inline constexpr size_t kMailBlockBytes = size_t{1} << 20;

class MailBuffer {
 public:
  // `lease`: the call's share of the budget, which must outlive the buffer.
  // `announced`: the size the call's header gave (0: not given); blocks are
  // no larger than what is left of it, so a small mail takes a small block.
  // Without it (or past it), blocks start at one chunk and double.
  MailBuffer(ByteBudget::Lease& lease, size_t announced) : lease_(lease), announced_(announced) {}

  // RESOURCE_EXHAUSTED, nothing appended, when the budget has no room for
  // the block the chunk needs.
  absl::Status Append(absl::string_view chunk);
  size_t size() const { return size_; }

  // The whole mail; the buffer is empty afterwards. The lease still counts
  // the blocks' bytes, which the string now holds.
  std::string Take();
  // Frees everything.
  void Clear();

 private:
  ByteBudget::Lease& lease_;
  const size_t announced_;
  std::vector<std::string> blocks_;
  size_t size_ = 0;
};

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_MAIL_BUFFER_H_
