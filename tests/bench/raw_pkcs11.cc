#include "tests/bench/raw_pkcs11.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace signet::bench {
namespace {

absl::Status Failed(const char* function, CK_RV rv) {
  return absl::InternalError(absl::StrFormat("%s: CK_RV 0x%lx", function, rv));
}

}  // namespace

absl::StatusOr<std::unique_ptr<RawModule>> RawModule::Open(const std::string& module_path,
                                                           const std::string& token_label,
                                                           std::string pin) {
  void* library = dlopen(module_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) return absl::NotFoundError(absl::StrCat("dlopen: ", dlerror()));
  auto get_list = reinterpret_cast<CK_C_GetFunctionList>(dlsym(library, "C_GetFunctionList"));
  CK_FUNCTION_LIST* functions = nullptr;
  if (get_list == nullptr || get_list(&functions) != CKR_OK) {
    dlclose(library);
    return absl::InternalError("no C_GetFunctionList");
  }
  std::unique_ptr<RawModule> module(new RawModule(library, functions));
  module->pin_ = std::move(pin);
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  if (CK_RV rv = functions->C_Initialize(&args); rv != CKR_OK) {
    // The destructor must not finalize what was never initialised.
    module->functions_ = nullptr;
    return Failed("C_Initialize", rv);
  }
  CK_ULONG count = 0;
  if (CK_RV rv = functions->C_GetSlotList(CK_TRUE, nullptr, &count); rv != CKR_OK) {
    return Failed("C_GetSlotList", rv);
  }
  std::vector<CK_SLOT_ID> slots(count);
  if (CK_RV rv = functions->C_GetSlotList(CK_TRUE, slots.data(), &count); rv != CKR_OK) {
    return Failed("C_GetSlotList", rv);
  }
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info;
    if (functions->C_GetTokenInfo(slot, &info) != CKR_OK) continue;
    std::string label(reinterpret_cast<const char*>(info.label), sizeof(info.label));
    if (absl::StripTrailingAsciiWhitespace(label) == token_label) {
      module->slot_ = slot;
      return module;
    }
  }
  return absl::NotFoundError(absl::StrCat("no token labelled ", token_label));
}

RawModule::~RawModule() {
  if (functions_ != nullptr) functions_->C_Finalize(nullptr);
  dlclose(library_);
}

absl::StatusOr<std::unique_ptr<RawSession>> RawModule::OpenSession() {
  CK_SESSION_HANDLE handle = CK_INVALID_HANDLE;
  if (CK_RV rv = functions_->C_OpenSession(slot_, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr,
                                           nullptr, &handle);
      rv != CKR_OK) {
    return Failed("C_OpenSession", rv);
  }
  auto session = std::make_unique<RawSession>(functions_, handle);
  CK_RV rv = functions_->C_Login(handle, CKU_USER,
                                 reinterpret_cast<CK_UTF8CHAR*>(const_cast<char*>(pin_.data())),
                                 pin_.size());
  if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) return Failed("C_Login", rv);
  return session;
}

RawSession::~RawSession() { functions_->C_CloseSession(handle_); }

absl::StatusOr<CK_OBJECT_HANDLE> RawSession::FindPrivateKey(const std::string& label) {
  CK_OBJECT_CLASS key_class = CKO_PRIVATE_KEY;
  CK_ATTRIBUTE query[] = {
      {CKA_CLASS, &key_class, sizeof(key_class)},
      {CKA_LABEL, const_cast<char*>(label.data()), label.size()},
  };
  if (CK_RV rv = functions_->C_FindObjectsInit(handle_, query, 2); rv != CKR_OK) {
    return Failed("C_FindObjectsInit", rv);
  }
  CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
  CK_ULONG found = 0;
  CK_RV rv = functions_->C_FindObjects(handle_, &key, 1, &found);
  functions_->C_FindObjectsFinal(handle_);
  if (rv != CKR_OK) return Failed("C_FindObjects", rv);
  if (found != 1) return absl::NotFoundError(absl::StrCat("no private key labelled ", label));
  return key;
}

absl::StatusOr<size_t> RawSession::CountObjects() {
  if (CK_RV rv = functions_->C_FindObjectsInit(handle_, nullptr, 0); rv != CKR_OK) {
    return Failed("C_FindObjectsInit", rv);
  }
  size_t total = 0;
  CK_OBJECT_HANDLE batch[1024];
  for (;;) {
    CK_ULONG found = 0;
    if (CK_RV rv = functions_->C_FindObjects(handle_, batch, 1024, &found); rv != CKR_OK) {
      functions_->C_FindObjectsFinal(handle_);
      return Failed("C_FindObjects", rv);
    }
    if (found == 0) break;
    total += found;
  }
  functions_->C_FindObjectsFinal(handle_);
  return total;
}

absl::Status RawSession::CreateDataObjects(size_t count) {
  CK_OBJECT_CLASS data_class = CKO_DATA;
  CK_BBOOL yes = CK_TRUE;
  CK_BBOOL no = CK_FALSE;
  unsigned char value[64] = {};
  for (size_t i = 0; i < count; ++i) {
    const std::string label = absl::StrCat("filler-", i);
    std::memcpy(value, label.data(), std::min(label.size(), sizeof(value)));
    CK_ATTRIBUTE object[] = {
        {CKA_CLASS, &data_class, sizeof(data_class)},
        {CKA_TOKEN, &yes, sizeof(yes)},
        {CKA_PRIVATE, &no, sizeof(no)},
        {CKA_LABEL, const_cast<char*>(label.data()), label.size()},
        {CKA_VALUE, value, sizeof(value)},
    };
    CK_OBJECT_HANDLE handle;
    if (CK_RV rv = functions_->C_CreateObject(handle_, object, 5, &handle); rv != CKR_OK) {
      return Failed("C_CreateObject", rv);
    }
  }
  return absl::OkStatus();
}

absl::Status RawSession::Run(RawOperation operation, CK_MECHANISM& mechanism, CK_OBJECT_HANDLE key,
                             const std::string& input, std::string& output) {
  auto* in = reinterpret_cast<CK_BYTE*>(const_cast<char*>(input.data()));
  auto* out = reinterpret_cast<CK_BYTE*>(output.data());
  CK_ULONG length = output.size();
  if (operation == RawOperation::kSign) {
    if (CK_RV rv = functions_->C_SignInit(handle_, &mechanism, key); rv != CKR_OK) {
      return Failed("C_SignInit", rv);
    }
    if (CK_RV rv = functions_->C_Sign(handle_, in, input.size(), out, &length); rv != CKR_OK) {
      return Failed("C_Sign", rv);
    }
  } else {
    if (CK_RV rv = functions_->C_DecryptInit(handle_, &mechanism, key); rv != CKR_OK) {
      return Failed("C_DecryptInit", rv);
    }
    if (CK_RV rv = functions_->C_Decrypt(handle_, in, input.size(), out, &length); rv != CKR_OK) {
      return Failed("C_Decrypt", rv);
    }
  }
  return absl::OkStatus();
}

}  // namespace signet::bench
