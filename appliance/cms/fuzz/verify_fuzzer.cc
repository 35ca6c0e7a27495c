// Arbitrary bytes as a mail to verify, against the fuzz material's CA: any
// input ends in a verification report or an error with a VerifyFailure, and
// what is reported as signed is never empty. The second pass, which takes
// untrusted signers, requires the sender check: a report then always has a
// signer whose address is the From:.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "appliance/cms/fuzz/fuzz_check.h"
#include "appliance/cms/fuzz/fuzz_material.h"
#include "appliance/cms/verifier.h"

namespace signet::cms::fuzz {
namespace {

struct Fixture {
  FuzzMaterial material;
  std::unique_ptr<TrustStore> trust;
};

Fixture& GetFixture() {
  static Fixture* fixture = [] {
    absl::StatusOr<FuzzMaterial> material = LoadFuzzMaterial(SIGNET_FUZZ_MATERIAL);
    SIGNET_FUZZ_CHECK(material.ok());
    auto* f = new Fixture{std::move(*material), nullptr};
    absl::StatusOr<TrustStore> trust = TrustStore::FromCertificates({f->material.ca.get()});
    SIGNET_FUZZ_CHECK(trust.ok());
    f->trust = std::make_unique<TrustStore>(std::move(*trust));
    return f;
  }();
  return *fixture;
}

}  // namespace
}  // namespace signet::cms::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace signet::cms;
  fuzz::Fixture& fixture = fuzz::GetFixture();
  CmsContext context;
  context.limits.max_message_bytes = std::size_t{1} << 20;
  const absl::string_view mail(reinterpret_cast<const char*>(data), size);
  for (bool require_trusted_chain : {true, false}) {
    const bool require_sender_match = !require_trusted_chain;
    absl::StatusOr<VerifiedMail> verified =
        VerifyMail(context, mail, *fixture.trust,
                   {.require_trusted_chain = require_trusted_chain,
                    .require_sender_match = require_sender_match});
    if (verified.ok()) {
      SIGNET_FUZZ_CHECK(!verified->signers.empty());
      SIGNET_FUZZ_CHECK(!verified->signed_entity.empty());
      // Exactly one of the address and the reason there is none.
      SIGNET_FUZZ_CHECK(verified->from_address.empty() != verified->from_problem.empty());
      bool any_match = false;
      for (const SignerReport& signer : verified->signers) {
        SIGNET_FUZZ_CHECK(!signer.from_matches_signer || !verified->from_address.empty());
        any_match |= signer.from_matches_signer;
      }
      SIGNET_FUZZ_CHECK(any_match || !require_sender_match);
    } else {
      SIGNET_FUZZ_CHECK(verified.status().code() == absl::StatusCode::kInvalidArgument);
      SIGNET_FUZZ_CHECK(VerifyFailureOf(verified.status()).has_value());
      // Errors never carry the mail: they are short.
      SIGNET_FUZZ_CHECK(verified.status().message().size() < 600);
    }
  }
  return 0;
}
