// A mail as its chunks arrive, drawn from the call's share of the byte
// budget a block (up to 1 MiB) at a time before the block's bytes are
// written, so that what the budget counts is what the call holds.
//
// A mail whose header announced more than a block is written straight into
// one buffer of the announced size, which the work then takes whole: no
// join, and no copy of the mail between its arrival and the work. That
// buffer is allocated at the first chunk (not at the header: a header alone
// holds nothing), but its pages are only touched, and so only become
// memory, as chunks are written into them; the budget draws for them ahead
// of the writing, up to the buffer's next 2 MiB boundary at a time (where
// the budget has no room for that, just what the chunk needs). Each whole
// 2 MiB page is advised for a huge page (common/huge_pages.h) once it is
// drawn for and before it is touched, so what the call holds never runs
// ahead of what it drew. What the allocation takes at once is address space
// (and, under the kernel's strict overcommit, vm.overcommit_memory=2, a
// commitment of the announced size): at most limits.max_message_bytes per
// call that has sent a chunk. A client that sends more than it announced
// (the call refuses the mail once it is complete) goes on in blocks.
//
// Without an announcement, or a small one, blocks start at one chunk and
// double, and Take() joins them, freeing each as it is copied.
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
  MailBuffer(ByteBudget::Lease& lease, size_t announced) : lease_(lease), announced_(announced) {}

  // RESOURCE_EXHAUSTED, nothing appended, when the budget has no room for
  // the block the chunk needs.
  absl::Status Append(absl::string_view chunk);
  size_t size() const { return size_; }
  // What has come is in the one buffer of the announced size, which Take()
  // hands over as it is.
  bool whole() const { return !whole_.empty(); }

  // The whole mail; the buffer is empty afterwards. The lease still counts
  // the blocks' bytes, which the string now holds.
  std::string Take();
  // Frees everything.
  void Clear();

 private:
  // Into `whole_`: the announced mail, while it is within its announcement.
  absl::Status AppendWhole(absl::string_view chunk);

  ByteBudget::Lease& lease_;
  const size_t announced_;
  std::string whole_;
  // What the budget was drawn for `whole_`.
  size_t whole_drawn_ = 0;
  std::vector<std::string> blocks_;
  size_t size_ = 0;
};

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_MAIL_BUFFER_H_
