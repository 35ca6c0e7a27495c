// The one place Signet includes the PKCS#11 headers. Only code under tokens/
// (and the PKCS#11 test fixtures) may include this file.
#ifndef SIGNET_TOKENS_PKCS11_H_
#define SIGNET_TOKENS_PKCS11_H_

// Debian ships the PKCS#11 2.40 header with p11-kit; it uses the standard
// CK_* names (CRYPTOKI_COMPAT) by default.
#include <p11-kit/pkcs11.h>

// p11-kit 0.24 maps the GNU field names to the standard ones with macros and
// forgets to #undef these at the end; left defined, they would rename any
// identifier of the same name in code that follows.
#undef aad_len
#undef aad_ptr
#undef ck_rsa_pkcs_mgf_type_t
#undef ck_rsa_pkcs_oaep_source_type_t
#undef counter_bits
#undef data_params
#undef hash_alg
#undef iv_bits
#undef iv_len
#undef iv_ptr
#undef public_data
#undef public_data_len
#undef s_len
#undef shared_data
#undef shared_data_len
#undef source_data
#undef source_data_len
#undef string_data
#undef string_data_len
#undef tag_bits

namespace signet::p11 {

// PKCS#11 3.0 interface discovery (C_GetInterface). p11-kit 0.24's header
// predates 3.0, so the three definitions Signet needs are spelled out here,
// with the layout the 3.0 specification gives them.
struct Interface {
  CK_UTF8CHAR* pInterfaceName;
  void* pFunctionList;
  CK_FLAGS flags;
};
using GetInterfaceFn = CK_RV (*)(CK_UTF8CHAR* pInterfaceName, CK_VERSION* pVersion,
                                 Interface** ppInterface, CK_FLAGS flags);
inline constexpr CK_FLAGS kInterfaceForkSafe = 0x1;

// The name of the standard interface in C_GetInterface ("PKCS 11"). Its
// function list begins with the complete 2.40 list, so it is read as a
// CK_FUNCTION_LIST.
inline constexpr char kStandardInterfaceName[] = "PKCS 11";

}  // namespace signet::p11

#endif  // SIGNET_TOKENS_PKCS11_H_
