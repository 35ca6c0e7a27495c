#include "tokens/token_init.h"

#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "tokens/ck_status.h"

namespace signet {
namespace {

// CK_TOKEN_INFO's label: 32 bytes, blank padded, not terminated.
constexpr size_t kLabelSize = 32;

CK_UTF8CHAR_PTR PinBytes(const SecretString& pin) {
  return const_cast<CK_UTF8CHAR_PTR>(pin.ExposeForPkcs11());
}

absl::StatusOr<CK_SLOT_ID> FirstUninitialisedSlot(const Module& module) {
  ASSIGN_OR_RETURN(std::vector<CK_SLOT_ID> slots, ListSlots(module, /*token_present_only=*/true));
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info{};
    if (SIGNET_P11(module, GetTokenInfo, slot, &info) != CKR_OK) continue;
    if (!(info.flags & CKF_TOKEN_INITIALIZED)) return slot;
  }
  return absl::ResourceExhaustedError(
      absl::StrCat(module.info().path, " has no slot with an uninitialised token"));
}

// Closes the session (logging out first) on every path.
class SoSession {
 public:
  SoSession(const Module& module, CK_SESSION_HANDLE session) : module_(module), session_(session) {}
  SoSession(const SoSession&) = delete;
  SoSession& operator=(const SoSession&) = delete;
  ~SoSession() {
    if (logged_in_) SIGNET_P11(module_, Logout, session_);
    SIGNET_P11(module_, CloseSession, session_);
  }
  CK_SESSION_HANDLE handle() const { return session_; }
  void set_logged_in() { logged_in_ = true; }

 private:
  const Module& module_;
  CK_SESSION_HANDLE session_;
  bool logged_in_ = false;
};

}  // namespace

absl::StatusOr<TokenDescription> InitializeToken(const Module& module, absl::string_view label,
                                                 const SecretString& so_pin,
                                                 const SecretString& user_pin) {
  if (label.empty() || label.size() > kLabelSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("a token label has 1 to ", kLabelSize, " bytes, not ", label.size()));
  }
  if (so_pin.empty() || user_pin.empty()) {
    return absl::InvalidArgumentError("a new token needs both an SO PIN and a user PIN");
  }
  TokenSelector by_label;
  by_label.label = std::string(label);
  if (FindToken(module, by_label).ok()) {
    return absl::AlreadyExistsError(
        absl::StrCat("a token labelled '", label, "' is already in ", module.info().path));
  }
  ASSIGN_OR_RETURN(CK_SLOT_ID slot, FirstUninitialisedSlot(module));

  CK_UTF8CHAR padded[kLabelSize];
  std::memset(padded, ' ', sizeof(padded));
  std::memcpy(padded, label.data(), label.size());
  CK_RV rv = SIGNET_P11(module, InitToken, slot, PinBytes(so_pin), so_pin.size(), padded);
  if (rv != CKR_OK) return SIGNET_P11_ERROR(InitToken, rv);

  ASSIGN_OR_RETURN(TokenDescription token, FindToken(module, by_label));
  CK_SESSION_HANDLE handle = CK_INVALID_HANDLE;
  rv = SIGNET_P11(module, OpenSession, token.slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr,
                  nullptr, &handle);
  if (rv != CKR_OK) return SIGNET_P11_ERROR(OpenSession, rv);
  SoSession session(module, handle);
  rv = SIGNET_P11(module, Login, session.handle(), CKU_SO, PinBytes(so_pin), so_pin.size());
  if (rv != CKR_OK) return SIGNET_P11_ERROR(Login, rv, "as security officer");
  session.set_logged_in();
  rv = SIGNET_P11(module, InitPIN, session.handle(), PinBytes(user_pin), user_pin.size());
  if (rv != CKR_OK) return SIGNET_P11_ERROR(InitPIN, rv);
  return FindToken(module, by_label);
}

}  // namespace signet
