// Helpers the TSA tests share: requests made with OpenSSL's TS_REQ API, and
// what a reply says, read back with OpenSSL's parser. Header-only, tests only.
#ifndef SIGNET_APPLIANCE_TSA_TSA_TESTING_H_
#define SIGNET_APPLIANCE_TSA_TSA_TESTING_H_

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ts.h>

#include <cstdint>
#include <set>
#include <string>

#include "common/der.h"
#include "common/ossl_ptr.h"

namespace signet::tsa::testing {

struct RequestSpec {
  std::string data = "Statement for November: 3 transfers.\n";
  // The imprint's algorithm (OpenSSL's name) and, unless digest_length is
  // set, the digest of `data` with it.
  std::string digest = "SHA256";
  int digest_length = -1;  // >= 0: that many bytes instead of the digest
  std::string policy;      // dotted OID; empty: none
  int64_t nonce = -1;      // < 0: none
  bool cert_req = false;
  long version = 1;
  bool with_extension = false;
};

inline std::string MakeRequest(const RequestSpec& spec) {
  TsReqPtr request(TS_REQ_new());
  TsMsgImprintPtr imprint(TS_MSG_IMPRINT_new());
  X509AlgorPtr algorithm(X509_ALGOR_new());
  EvpMdPtr md(EVP_MD_fetch(nullptr, spec.digest.c_str(), nullptr));
  if (!request || !imprint || !algorithm || !md) return {};
  X509_ALGOR_set0(algorithm.get(), OBJ_nid2obj(EVP_MD_get_type(md.get())), V_ASN1_NULL, nullptr);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(spec.data.data(), spec.data.size(), digest, &length, md.get(), nullptr);
  std::string message(reinterpret_cast<char*>(digest), length);
  if (spec.digest_length >= 0) message.assign(static_cast<size_t>(spec.digest_length), '\x5a');
  if (TS_MSG_IMPRINT_set_algo(imprint.get(), algorithm.get()) != 1 ||
      TS_MSG_IMPRINT_set_msg(imprint.get(), reinterpret_cast<unsigned char*>(message.data()),
                             static_cast<int>(message.size())) != 1 ||
      TS_REQ_set_version(request.get(), spec.version) != 1 ||
      TS_REQ_set_msg_imprint(request.get(), imprint.get()) != 1 ||
      TS_REQ_set_cert_req(request.get(), spec.cert_req ? 1 : 0) != 1) {
    return {};
  }
  if (!spec.policy.empty()) {
    Asn1ObjectPtr policy(OBJ_txt2obj(spec.policy.c_str(), 1));
    if (!policy || TS_REQ_set_policy_id(request.get(), policy.get()) != 1) return {};
  }
  if (spec.nonce >= 0) {
    Asn1IntegerPtr nonce(ASN1_INTEGER_new());
    if (!nonce || ASN1_INTEGER_set_int64(nonce.get(), spec.nonce) != 1 ||
        TS_REQ_set_nonce(request.get(), nonce.get()) != 1) {
      return {};
    }
  }
  if (spec.with_extension) {
    Asn1OctetStringPtr value(ASN1_OCTET_STRING_new());
    ASN1_OCTET_STRING_set(value.get(), reinterpret_cast<const unsigned char*>("\x05\x00"), 2);
    Asn1ObjectPtr oid(OBJ_txt2obj("1.3.6.1.4.1.99999.7", 1));
    X509ExtensionPtr extension(X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), 0, value.get()));
    if (!extension || TS_REQ_add_ext(request.get(), extension.get(), -1) != 1) return {};
  }
  return DerOf<TS_REQ, i2d_TS_REQ>(request.get());
}

inline TsRespPtr ParseReply(const std::string& der) {
  const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
  TsRespPtr reply(d2i_TS_RESP(nullptr, &cursor, static_cast<long>(der.size())));
  // The whole input must be the reply.
  if (reply && cursor != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return nullptr;
  }
  return reply;
}

inline long ReplyStatus(TS_RESP* reply) {
  return ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(reply)));
}

// The PKIFailureInfo bits set (TS_INFO_*).
inline std::set<int> FailureBits(TS_RESP* reply) {
  std::set<int> bits;
  const ASN1_BIT_STRING* info = TS_STATUS_INFO_get0_failure_info(TS_RESP_get_status_info(reply));
  for (int bit = 0; info != nullptr && bit < 32; ++bit) {
    if (ASN1_BIT_STRING_get_bit(info, bit)) bits.insert(bit);
  }
  return bits;
}

inline uint64_t Serial(TS_RESP* reply) {
  uint64_t value = 0;
  const TS_TST_INFO* info = TS_RESP_get_tst_info(reply);
  if (info == nullptr || ASN1_INTEGER_get_uint64(&value, TS_TST_INFO_get_serial(info)) != 1) {
    return 0;
  }
  return value;
}

}  // namespace signet::tsa::testing

#endif  // SIGNET_APPLIANCE_TSA_TSA_TESTING_H_
