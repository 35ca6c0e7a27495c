#include "appliance/cli/timestamp_query.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/asn1_text.h"
#include "common/asn1_time.h"
#include "common/openssl_error.h"
#include "common/pki_status_names.h"

namespace signet::cli {
namespace {

std::string NameText(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return {};
  return BioContents(bio.get());
}

// The TSA as the token names it; a token without the (optional) name is
// known by its signer's certificate, which certReq made it carry.
std::string TsaName(TS_RESP* reply, TS_TST_INFO* info) {
  const GENERAL_NAME* name = TS_TST_INFO_get_tsa(info);
  if (name != nullptr && name->type == GEN_DIRNAME) return NameText(name->d.directoryName);
  STACK_OF(X509)* signers = PKCS7_get0_signers(TS_RESP_get_token(reply), nullptr, 0);
  std::string text;
  if (signers != nullptr && sk_X509_num(signers) > 0) {
    text = NameText(X509_get_subject_name(sk_X509_value(signers, 0)));
  }
  sk_X509_free(signers);
  ERR_clear_error();
  return text;
}

}  // namespace

const char* TimestampDigestName(v1::DigestAlgorithm algorithm) {
  switch (algorithm) {
    case v1::SHA384:
      return "SHA384";
    case v1::SHA512:
      return "SHA512";
    default:
      return "SHA256";
  }
}

absl::StatusOr<TimestampQuery> BuildTimestampQuery(v1::DigestAlgorithm algorithm,
                                                   absl::string_view digest,
                                                   const std::string& policy) {
  const EVP_MD* md = EVP_get_digestbyname(TimestampDigestName(algorithm));
  if (md == nullptr) return OpenSslError("no digest for the time-stamp request");
  TimestampQuery query{.request = TsReqPtr(TS_REQ_new())};
  X509AlgorPtr digest_algorithm(X509_ALGOR_new());
  TsMsgImprintPtr imprint(TS_MSG_IMPRINT_new());
  if (!query.request || !digest_algorithm || !imprint ||
      TS_REQ_set_version(query.request.get(), 1) != 1 ||
      // As `openssl ts -query` writes it: the parameters an explicit NULL.
      X509_ALGOR_set0(digest_algorithm.get(), OBJ_nid2obj(EVP_MD_get_type(md)), V_ASN1_NULL,
                      nullptr) != 1 ||
      TS_MSG_IMPRINT_set_algo(imprint.get(), digest_algorithm.get()) != 1 ||
      TS_MSG_IMPRINT_set_msg(imprint.get(),
                             reinterpret_cast<unsigned char*>(const_cast<char*>(digest.data())),
                             static_cast<int>(digest.size())) != 1 ||
      TS_REQ_set_msg_imprint(query.request.get(), imprint.get()) != 1 ||
      TS_REQ_set_cert_req(query.request.get(), 1) != 1) {
    return OpenSslError("cannot build the time-stamp request");
  }
  if (!policy.empty()) {
    Asn1ObjectPtr oid(OBJ_txt2obj(policy.c_str(), /*no_name=*/1));
    if (!oid) {
      ERR_clear_error();
      return absl::InvalidArgumentError(absl::StrCat("--policy '", policy, "' is not an OID"));
    }
    if (TS_REQ_set_policy_id(query.request.get(), oid.get()) != 1) {
      return OpenSslError("cannot set the time-stamp policy");
    }
  }
  // The nonce ties the reply to this request: a replayed or misrouted reply
  // carries another.
  unsigned char random[8];
  if (RAND_bytes(random, sizeof random) != 1) return OpenSslError("no random nonce");
  random[0] &= 0x7f;
  BignumPtr nonce_number(BN_bin2bn(random, sizeof random, nullptr));
  Asn1IntegerPtr nonce(nonce_number ? BN_to_ASN1_INTEGER(nonce_number.get(), nullptr) : nullptr);
  if (!nonce || TS_REQ_set_nonce(query.request.get(), nonce.get()) != 1) {
    return OpenSslError("cannot set the nonce");
  }
  unsigned char* der = nullptr;
  const int length = i2d_TS_REQ(query.request.get(), &der);
  if (length <= 0) return OpenSslError("cannot encode the time-stamp request");
  query.der.assign(reinterpret_cast<char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  return query;
}

absl::StatusOr<TimestampReplySummary> SummarizeTimestampReply(const TimestampQuery& query,
                                                              absl::string_view reply) {
  const unsigned char* in = reinterpret_cast<const unsigned char*>(reply.data());
  TsRespPtr parsed(d2i_TS_RESP(nullptr, &in, static_cast<long>(reply.size())));
  if (!parsed || in != reinterpret_cast<const unsigned char*>(reply.data()) + reply.size()) {
    ERR_clear_error();
    return absl::InvalidArgumentError("the TSA's answer is not a DER TimeStampResp");
  }
  TimestampReplySummary summary;
  const TS_STATUS_INFO* info = TS_RESP_get_status_info(parsed.get());
  const long status = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(info));
  summary.status = PkiStatusName(status);
  summary.granted = status == 0 || status == 1;
  if (!summary.granted) {
    std::vector<std::string> failure = PkiFailureNames(TS_STATUS_INFO_get0_failure_info(info));
    if (const STACK_OF(ASN1_UTF8STRING)* text = TS_STATUS_INFO_get0_text(info); text != nullptr) {
      for (int i = 0; i < sk_ASN1_UTF8STRING_num(text); ++i) {
        const ASN1_UTF8STRING* line = sk_ASN1_UTF8STRING_value(text, i);
        failure.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(line)),
                             static_cast<size_t>(ASN1_STRING_length(line)));
      }
    }
    summary.failure = absl::StrJoin(failure, ", ");
    return summary;
  }
  TS_TST_INFO* token = TS_RESP_get_tst_info(parsed.get());
  if (token == nullptr) return absl::InvalidArgumentError("the granted reply has no token");
  // Not the signature (that needs the TSA's trust anchors): that the token
  // is over this request's imprint, with its nonce and policy.
  TsVerifyCtxPtr verify(TS_REQ_to_TS_VERIFY_CTX(query.request.get(), nullptr));
  if (!verify) return OpenSslError("cannot check the reply");
  // The context carries the request's imprint, nonce and policy; the flags
  // are set here rather than trusted to default to leaving the signature
  // out, which would fail every reply for want of trust anchors.
  TS_VERIFY_CTX_set_flags(
      verify.get(), TS_VFY_VERSION | TS_VFY_IMPRINT | TS_VFY_NONCE |
                        (TS_REQ_get_policy_id(query.request.get()) != nullptr ? TS_VFY_POLICY : 0));
  if (TS_RESP_verify_response(verify.get(), parsed.get()) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "the TSA's reply does not answer this request");
  }
  if (std::optional<absl::Time> time = TimeOf(TS_TST_INFO_get_time(token)); time.has_value()) {
    summary.time = absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", *time, absl::UTCTimeZone());
  }
  summary.serial_hex = IntegerHex(TS_TST_INFO_get_serial(token));
  summary.tsa = TsaName(parsed.get(), token);
  summary.policy = DottedOid(TS_TST_INFO_get_policy_id(token));
  return summary;
}

}  // namespace signet::cli
