// The ceiling: a PKCS#11 module called directly, in process, as nothing
// could call it faster — handles found once, one logged-in session per
// worker, C_SignInit + C_Sign (or C_DecryptInit + C_Decrypt) per request.
// Also fills a token with data objects for the many-objects run.
#ifndef SIGNET_TESTS_BENCH_RAW_PKCS11_H_
#define SIGNET_TESTS_BENCH_RAW_PKCS11_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tokens/pkcs11.h"

namespace signet::bench {

class RawSession;

class RawModule {
 public:
  // dlopens the module, C_Initialize (CKF_OS_LOCKING_OK) and finds the slot
  // of the token with this label.
  static absl::StatusOr<std::unique_ptr<RawModule>> Open(const std::string& module_path,
                                                         const std::string& token_label,
                                                         std::string pin);
  RawModule(const RawModule&) = delete;
  RawModule& operator=(const RawModule&) = delete;
  // C_Finalize and dlclose: the next user of the module starts clean.
  ~RawModule();

  // A read-write session, logged in as the user (once per module: the
  // others find it logged in).
  absl::StatusOr<std::unique_ptr<RawSession>> OpenSession();

  CK_FUNCTION_LIST* functions() const { return functions_; }

 private:
  RawModule(void* library, CK_FUNCTION_LIST* functions)
      : library_(library), functions_(functions) {}

  void* library_;
  CK_FUNCTION_LIST* functions_;
  CK_SLOT_ID slot_ = 0;
  std::string pin_;
};

enum class RawOperation { kSign, kDecrypt };

class RawSession {
 public:
  RawSession(CK_FUNCTION_LIST* functions, CK_SESSION_HANDLE handle)
      : functions_(functions), handle_(handle) {}
  RawSession(const RawSession&) = delete;
  RawSession& operator=(const RawSession&) = delete;
  ~RawSession();

  // The private key with this CKA_LABEL.
  absl::StatusOr<CK_OBJECT_HANDLE> FindPrivateKey(const std::string& label);
  // Objects of any class on the token.
  absl::StatusOr<size_t> CountObjects();
  // Adds `count` token data objects (CKO_DATA, 64 bytes each).
  absl::Status CreateDataObjects(size_t count);

  // One operation with `mechanism`; the output length is found once by the
  // caller, so a request is exactly the two calls.
  absl::Status Run(RawOperation operation, CK_MECHANISM& mechanism, CK_OBJECT_HANDLE key,
                   const std::string& input, std::string& output);

 private:
  CK_FUNCTION_LIST* functions_;
  CK_SESSION_HANDLE handle_;
};

}  // namespace signet::bench

#endif  // SIGNET_TESTS_BENCH_RAW_PKCS11_H_
