#include "appliance/server/mail_buffer.h"

#include <algorithm>
#include <utility>

#include "common/status_macros.h"

namespace signet::server {

// A mail of unknown size starts with a block of one chunk.
constexpr size_t kFirstBlockBytes = 64 * 1024;

absl::Status MailBuffer::Append(absl::string_view chunk) {
  while (!chunk.empty()) {
    if (blocks_.empty() || blocks_.back().size() == blocks_.back().capacity()) {
      // The next block: what is left of the announced size if that is
      // smaller (the announcement only ever shrinks a block).
      size_t block = announced_ > size_ ? std::min(kMailBlockBytes, announced_ - size_)
                                        : std::clamp(size_, kFirstBlockBytes, kMailBlockBytes);
      block = std::max(block, chunk.size());
      RETURN_IF_ERROR(lease_.Grow(block));
      blocks_.emplace_back().reserve(block);
      // The library may round the capacity up; the budget counts the block.
    }
    std::string& last = blocks_.back();
    const size_t length = std::min(chunk.size(), last.capacity() - last.size());
    last.append(chunk.data(), length);
    chunk.remove_prefix(length);
    size_ += length;
  }
  return absl::OkStatus();
}

std::string MailBuffer::Take() {
  std::string mail;
  if (blocks_.size() == 1) {
    mail = std::move(blocks_.front());
  } else {
    mail.reserve(size_);
    for (std::string& block : blocks_) {
      mail.append(block);
      std::string().swap(block);
    }
  }
  blocks_.clear();
  size_ = 0;
  return mail;
}

void MailBuffer::Clear() {
  std::vector<std::string>().swap(blocks_);
  size_ = 0;
}

}  // namespace signet::server
