#include "appliance/server/mail_buffer.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "common/huge_pages.h"
#include "common/status_macros.h"

namespace signet::server {

// A mail of unknown size starts with a block of one chunk.
constexpr size_t kFirstBlockBytes = 64 * 1024;

absl::Status MailBuffer::AppendWhole(absl::string_view chunk) {
  // Address space until the chunks are written into it.
  if (whole_.capacity() < announced_) whole_.reserve(announced_);
  // The budget first, for the bytes about to be written: up to the next
  // 2 MiB boundary of the buffer at a time, and each huge page advised only
  // once all of it is drawn, since its first touch makes all of it memory.
  // Where the budget has no room for the rest of a huge page, just what the
  // chunk needs, in ordinary pages (never advised: AdviseHugePages takes
  // whole pages only), so that a call is refused no sooner than in blocks.
  const auto base = reinterpret_cast<std::uintptr_t>(whole_.data());
  while (whole_drawn_ < size_ + chunk.size()) {
    const std::uintptr_t next_boundary =
        ((base + whole_drawn_) / kHugePageBytes + 1) * kHugePageBytes - base;
    const size_t rest_of_page = std::min(next_boundary, announced_) - whole_drawn_;
    if (lease_.Grow(rest_of_page).ok()) {
      AdviseHugePages(whole_.data() + whole_drawn_, rest_of_page);
      whole_drawn_ += rest_of_page;
      continue;
    }
    const size_t block = std::min(rest_of_page, size_ + chunk.size() - whole_drawn_);
    RETURN_IF_ERROR(lease_.Grow(block));
    whole_drawn_ += block;
  }
  whole_.append(chunk.data(), chunk.size());
  size_ += chunk.size();
  return absl::OkStatus();
}

absl::Status MailBuffer::Append(absl::string_view chunk) {
  if (blocks_.empty() && announced_ > kMailBlockBytes && size_ + chunk.size() <= announced_) {
    return AppendWhole(chunk);
  }
  if (!whole_.empty()) {
    // More than announced: what came so far becomes the first block, its
    // room drawn for in full, since the blocks below fill it up.
    RETURN_IF_ERROR(lease_.Grow(whole_.capacity() - std::min(whole_.capacity(), whole_drawn_)));
    whole_drawn_ = 0;
    blocks_.push_back(std::move(whole_));
    whole_.clear();
  }
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
  if (blocks_.empty()) {
    mail = std::move(whole_);
  } else if (blocks_.size() == 1) {
    mail = std::move(blocks_.front());
  } else {
    mail.reserve(size_);
    for (std::string& block : blocks_) {
      mail.append(block);
      std::string().swap(block);
    }
  }
  std::string().swap(whole_);
  whole_drawn_ = 0;
  blocks_.clear();
  size_ = 0;
  return mail;
}

void MailBuffer::Clear() {
  std::string().swap(whole_);
  whole_drawn_ = 0;
  std::vector<std::string>().swap(blocks_);
  size_ = 0;
}

}  // namespace signet::server
