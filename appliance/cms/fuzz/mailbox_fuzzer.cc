// Feeds arbitrary bytes to the From/Sender parser (the sender binding's
// judge) and checks what must hold for any input: errors are short
// INVALID_ARGUMENTs; whatever it reads is printable ASCII (and tabs, which
// quoted strings keep) and reads back the same from its own addr-spec, alone
// or as a list; and a value read as one mailbox is read as a list of that one
// mailbox.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "appliance/cms/fuzz/fuzz_check.h"
#include "appliance/cms/mailbox_list.h"

namespace signet::cms {
namespace {

void CheckError(const absl::Status& status) {
  SIGNET_FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  SIGNET_FUZZ_CHECK(status.message().size() <= 400);
}

bool PlainText(absl::string_view text) {
  for (char c : text) {
    if ((c < 0x20 && c != '\t') || c > 0x7e) return false;
  }
  return true;
}

bool Same(const Mailbox& a, const Mailbox& b) {
  return a.local_part == b.local_part && a.domain == b.domain;
}

void CheckMailbox(const Mailbox& mailbox) {
  SIGNET_FUZZ_CHECK(!mailbox.domain.empty());
  SIGNET_FUZZ_CHECK(PlainText(mailbox.local_part) && PlainText(mailbox.domain) &&
                    PlainText(mailbox.display_name));
  absl::StatusOr<Mailbox> again = ParseMailbox(mailbox.AddrSpec());
  SIGNET_FUZZ_CHECK(again.ok());
  SIGNET_FUZZ_CHECK(Same(*again, mailbox));
  SIGNET_FUZZ_CHECK(again->display_name.empty());
}

void FuzzOne(absl::string_view value) {
  absl::StatusOr<std::vector<Mailbox>> list = ParseMailboxList(value);
  absl::StatusOr<Mailbox> one = ParseMailbox(value);
  if (!one.ok()) {
    CheckError(one.status());
  } else {
    CheckMailbox(*one);
    SIGNET_FUZZ_CHECK(list.ok() && list->size() == 1 && Same((*list)[0], *one));
    SIGNET_FUZZ_CHECK((*list)[0].display_name == one->display_name);
  }
  if (!list.ok()) {
    CheckError(list.status());
    return;
  }
  SIGNET_FUZZ_CHECK(!list->empty());
  std::vector<std::string> specs;
  for (const Mailbox& mailbox : *list) {
    CheckMailbox(mailbox);
    specs.push_back(mailbox.AddrSpec());
  }
  absl::StatusOr<std::vector<Mailbox>> again = ParseMailboxList(absl::StrJoin(specs, ", "));
  SIGNET_FUZZ_CHECK(again.ok() && again->size() == list->size());
  for (std::size_t i = 0; i < list->size(); ++i) SIGNET_FUZZ_CHECK(Same((*again)[i], (*list)[i]));
}

}  // namespace
}  // namespace signet::cms

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  signet::cms::FuzzOne(absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
