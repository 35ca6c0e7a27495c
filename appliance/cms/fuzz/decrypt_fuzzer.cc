// Arbitrary bytes as a mail to decrypt with the fuzz material's RSA and EC
// recipient keys. The oracle property is the invariant: whatever the input,
// a failure is the one uniform error, or one of the errors that depend only
// on what the mail shows in clear (not S/MIME at all, over the size limit,
// an algorithm Signet does not decrypt).
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "appliance/cms/decryption_algorithms.h"
#include "appliance/cms/decryptor.h"
#include "appliance/cms/fuzz/fuzz_check.h"
#include "appliance/cms/fuzz/fuzz_material.h"

namespace signet::cms::fuzz {
namespace {

const FuzzMaterial& GetMaterial() {
  static const FuzzMaterial* material = [] {
    absl::StatusOr<FuzzMaterial> loaded = LoadFuzzMaterial(SIGNET_FUZZ_MATERIAL);
    SIGNET_FUZZ_CHECK(loaded.ok());
    return new FuzzMaterial(std::move(*loaded));
  }();
  return *material;
}

bool IsAllowedFailure(const absl::Status& status) {
  // An algorithm identifier, read in clear, that Signet does not decrypt.
  if (status.code() == absl::StatusCode::kUnimplemented) {
    return absl::StrContains(status.message(), kNotDecryptedBySignet);
  }
  if (status.code() != absl::StatusCode::kInvalidArgument) return false;
  return status.message() == kDecryptionFailed ||
         status.message() == "not an encrypted S/MIME mail" ||
         absl::StrContains(status.message(), "over the limit of");
}

}  // namespace
}  // namespace signet::cms::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace signet::cms;
  const fuzz::FuzzMaterial& material = fuzz::GetMaterial();
  CmsContext context;
  context.limits.max_message_bytes = std::size_t{1} << 20;
  const absl::string_view mail(reinterpret_cast<const char*>(data), size);
  const Recipient recipients[] = {
      {.key = material.rsa_recipient_key.get(), .certificate = material.rsa_recipient.get()},
      {.key = material.ec_recipient_key.get(), .certificate = material.ec_recipient.get()}};
  for (const Recipient& recipient : recipients) {
    absl::StatusOr<DecryptedMail> decrypted = DecryptMail(context, mail, recipient);
    if (decrypted.ok()) {
      SIGNET_FUZZ_CHECK(absl::StrContains(decrypted->mail, decrypted->entity()));
    } else {
      SIGNET_FUZZ_CHECK(fuzz::IsAllowedFailure(decrypted.status()));
    }
    // signetd's variant decodes and decrypts in the mail's own buffer: the
    // same answer.
    absl::StatusOr<DecryptedMail> owned = DecryptOwnedMail(context, std::string(mail), recipient);
    SIGNET_FUZZ_CHECK(owned.status() == decrypted.status());
    if (owned.ok()) {
      SIGNET_FUZZ_CHECK(owned->mail == decrypted->mail &&
                        owned->entity_offset == decrypted->entity_offset &&
                        owned->authenticated == decrypted->authenticated);
    }
  }
  return 0;
}
