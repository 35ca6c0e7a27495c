// How many times each PKCS#11 function was called through a Module. Tests
// read these to prove what a request costs (steady state is exactly
// C_SignInit + C_Sign); signetd reports them per token in ListTokens (pkcs11_calls).
#ifndef SIGNET_TOKENS_CALL_COUNTERS_H_
#define SIGNET_TOKENS_CALL_COUNTERS_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "absl/strings/string_view.h"

namespace signet {

// Every function of the PKCS#11 2.40 function list, in its order.
// clang-format off
#define SIGNET_PKCS11_FUNCTIONS(X) \
  X(Initialize) \
  X(Finalize) \
  X(GetInfo) \
  X(GetFunctionList) \
  X(GetSlotList) \
  X(GetSlotInfo) \
  X(GetTokenInfo) \
  X(GetMechanismList) \
  X(GetMechanismInfo) \
  X(InitToken) \
  X(InitPIN) \
  X(SetPIN) \
  X(OpenSession) \
  X(CloseSession) \
  X(CloseAllSessions) \
  X(GetSessionInfo) \
  X(GetOperationState) \
  X(SetOperationState) \
  X(Login) \
  X(Logout) \
  X(CreateObject) \
  X(CopyObject) \
  X(DestroyObject) \
  X(GetObjectSize) \
  X(GetAttributeValue) \
  X(SetAttributeValue) \
  X(FindObjectsInit) \
  X(FindObjects) \
  X(FindObjectsFinal) \
  X(EncryptInit) \
  X(Encrypt) \
  X(EncryptUpdate) \
  X(EncryptFinal) \
  X(DecryptInit) \
  X(Decrypt) \
  X(DecryptUpdate) \
  X(DecryptFinal) \
  X(DigestInit) \
  X(Digest) \
  X(DigestUpdate) \
  X(DigestKey) \
  X(DigestFinal) \
  X(SignInit) \
  X(Sign) \
  X(SignUpdate) \
  X(SignFinal) \
  X(SignRecoverInit) \
  X(SignRecover) \
  X(VerifyInit) \
  X(Verify) \
  X(VerifyUpdate) \
  X(VerifyFinal) \
  X(VerifyRecoverInit) \
  X(VerifyRecover) \
  X(DigestEncryptUpdate) \
  X(DecryptDigestUpdate) \
  X(SignEncryptUpdate) \
  X(DecryptVerifyUpdate) \
  X(GenerateKey) \
  X(GenerateKeyPair) \
  X(WrapKey) \
  X(UnwrapKey) \
  X(DeriveKey) \
  X(SeedRandom) \
  X(GenerateRandom) \
  X(GetFunctionStatus) \
  X(CancelFunction) \
  X(WaitForSlotEvent)
// clang-format on

enum class P11Fn : std::size_t {
#define SIGNET_P11FN_ENUM(name) k##name,
  SIGNET_PKCS11_FUNCTIONS(SIGNET_P11FN_ENUM)
#undef SIGNET_P11FN_ENUM
      kCount
};

// "C_Sign" for P11Fn::kSign.
absl::string_view P11FnName(P11Fn fn);

class CallCounters {
 public:
  void Add(P11Fn fn) {
    counts_[static_cast<std::size_t>(fn)].fetch_add(1, std::memory_order_relaxed);
  }
  uint64_t Get(P11Fn fn) const {
    return counts_[static_cast<std::size_t>(fn)].load(std::memory_order_relaxed);
  }
  // Functions called at least once, by name ("C_Sign" -> 12).
  std::map<std::string, uint64_t> Snapshot() const;

 private:
  std::array<std::atomic<uint64_t>, static_cast<std::size_t>(P11Fn::kCount)> counts_{};
};

}  // namespace signet

#endif  // SIGNET_TOKENS_CALL_COUNTERS_H_
