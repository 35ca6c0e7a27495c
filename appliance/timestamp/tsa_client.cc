#include "appliance/timestamp/tsa_client.h"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/ts.h>

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "appliance/pki/http_fetch.h"
#include "common/der.h"
#include "common/log.h"
#include "common/openssl_error.h"
#include "common/pki_status_names.h"
#include "common/status_macros.h"

namespace signet::timestamp {
namespace {

constexpr char kQueryType[] = "application/timestamp-query";
constexpr char kReplyType[] = "application/timestamp-reply";

int DigestNid(ImprintDigest digest) {
  switch (digest) {
    case ImprintDigest::kSha384:
      return NID_sha384;
    case ImprintDigest::kSha512:
      return NID_sha512;
    case ImprintDigest::kSha256:
      break;
  }
  return NID_sha256;
}

absl::StatusOr<uint64_t> RandomNonce() {
  uint64_t nonce = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&nonce), sizeof(nonce)) != 1) {
    return OpenSslError("cannot make a nonce");
  }
  return nonce;
}

// RFC 3161 section 2.4.1: version 1, the imprint, reqPolicy when one is
// configured, a 64-bit random nonce against replayed replies, and certReq
// so that the token carries the TSA certificate a verifier needs later.
absl::StatusOr<std::string> MakeRequest(absl::string_view data, ImprintDigest digest,
                                        const std::string& policy_oid, uint64_t nonce) {
  EvpMdPtr md(EVP_MD_fetch(nullptr, ImprintDigestName(digest), nullptr));
  unsigned char hash[EVP_MAX_MD_SIZE];
  unsigned int hash_length = 0;
  if (!md || EVP_Digest(data.data(), data.size(), hash, &hash_length, md.get(), nullptr) != 1) {
    return OpenSslError("cannot hash the data to stamp");
  }
  TsReqPtr request(TS_REQ_new());
  TsMsgImprintPtr imprint(TS_MSG_IMPRINT_new());
  X509AlgorPtr algorithm(X509_ALGOR_new());
  Asn1IntegerPtr nonce_value(ASN1_INTEGER_new());
  if (!request || !imprint || !algorithm || !nonce_value ||
      X509_ALGOR_set0(algorithm.get(), OBJ_nid2obj(DigestNid(digest)), V_ASN1_NULL, nullptr) != 1 ||
      TS_MSG_IMPRINT_set_algo(imprint.get(), algorithm.get()) != 1 ||
      TS_MSG_IMPRINT_set_msg(imprint.get(), hash, static_cast<int>(hash_length)) != 1 ||
      TS_REQ_set_version(request.get(), 1) != 1 ||
      TS_REQ_set_msg_imprint(request.get(), imprint.get()) != 1 ||
      ASN1_INTEGER_set_uint64(nonce_value.get(), nonce) != 1 ||
      TS_REQ_set_nonce(request.get(), nonce_value.get()) != 1 ||
      TS_REQ_set_cert_req(request.get(), 1) != 1) {
    return OpenSslError("cannot build the TimeStampReq");
  }
  if (!policy_oid.empty()) {
    Asn1ObjectPtr policy(OBJ_txt2obj(policy_oid.c_str(), 1));
    if (!policy) {
      ERR_clear_error();
      return absl::InvalidArgumentError(
          absl::StrCat("the TSA policy '", policy_oid, "' is not a dotted OID"));
    }
    if (TS_REQ_set_policy_id(request.get(), policy.get()) != 1) {
      return OpenSslError("cannot set the policy");
    }
  }
  std::string der = DerOf<TS_REQ, i2d_TS_REQ>(request.get());
  if (der.empty()) return OpenSslError("cannot encode the TimeStampReq");
  return der;
}

// RFC 3161 section 2.4.2 PKIStatus and PKIFailureInfo names.
std::string RefusalText(TS_STATUS_INFO* info) {
  const long status = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(info));
  std::string text = absl::StrCat("the TSA answered ", PkiStatusName(status));
  const std::vector<std::string> failures = PkiFailureNames(TS_STATUS_INFO_get0_failure_info(info));
  if (!failures.empty()) absl::StrAppend(&text, " (", absl::StrJoin(failures, ", "), ")");
  // The TSA's own words, escaped and cut: they go to logs.
  const STACK_OF(ASN1_UTF8STRING)* words = TS_STATUS_INFO_get0_text(info);
  if (sk_ASN1_UTF8STRING_num(words) > 0) {
    const ASN1_UTF8STRING* first = sk_ASN1_UTF8STRING_value(words, 0);
    absl::string_view said(reinterpret_cast<const char*>(ASN1_STRING_get0_data(first)),
                           static_cast<size_t>(ASN1_STRING_length(first)));
    absl::StrAppend(&text, ": \"", absl::CHexEscape(said.substr(0, 120)), "\"");
  }
  return text;
}

// The timeStampToken's bytes exactly as the TSA sent them: the element
// after the status in the TimeStampResp SEQUENCE. (Re-encoding the parsed
// token could change bytes that a later verifier hashes.)
std::optional<absl::string_view> TokenBytes(absl::string_view reply) {
  const auto* begin = reinterpret_cast<const unsigned char*>(reply.data());
  const unsigned char* cursor = begin;
  long length = 0;
  int tag = 0;
  int object_class = 0;
  int flags =
      ASN1_get_object(&cursor, &length, &tag, &object_class, static_cast<long>(reply.size()));
  if ((flags & 0x80) != 0 || tag != V_ASN1_SEQUENCE || (flags & V_ASN1_CONSTRUCTED) == 0) {
    return std::nullopt;
  }
  const unsigned char* end = cursor + length;
  const unsigned char* status = cursor;
  flags = ASN1_get_object(&cursor, &length, &tag, &object_class, end - status);
  if ((flags & 0x80) != 0 || tag != V_ASN1_SEQUENCE) return std::nullopt;
  cursor += length;
  if (cursor >= end) return std::nullopt;
  return reply.substr(static_cast<size_t>(cursor - begin), static_cast<size_t>(end - cursor));
}

}  // namespace

absl::StatusOr<std::unique_ptr<TsaClient>> TsaClient::Create(const TsaClientOptions& options) {
  if (options.urls.empty()) return absl::InvalidArgumentError("no TSA URL is configured");
  for (const std::string& url : options.urls) {
    if (!absl::StartsWithIgnoreCase(url, "http://")) {
      return absl::InvalidArgumentError(
          absl::StrCat("TSA '", url, "' is not an http: URL; only http: is asked"));
    }
  }
  if (!options.policy_oid.empty()) {
    Asn1ObjectPtr policy(OBJ_txt2obj(options.policy_oid.c_str(), 1));
    ERR_clear_error();
    if (!policy) {
      return absl::InvalidArgumentError(
          absl::StrCat("the TSA policy '", options.policy_oid, "' is not a dotted OID"));
    }
  }
  if (options.anchors.empty()) {
    return absl::InvalidArgumentError("no trust anchor for TSA certificates is configured");
  }
  auto keep = [](const std::vector<X509*>& certificates) {
    std::vector<X509Ptr> kept;
    for (X509* certificate : certificates) {
      X509_up_ref(certificate);
      kept.emplace_back(certificate);
    }
    return kept;
  };
  TsaClientOptions copy = options;
  copy.anchors.clear();
  copy.intermediates.clear();
  return std::unique_ptr<TsaClient>(
      new TsaClient(std::move(copy), keep(options.anchors), keep(options.intermediates)));
}

absl::StatusOr<Timestamp> TsaClient::Stamp(absl::string_view data) const {
  ASSIGN_OR_RETURN(const uint64_t nonce, RandomNonce());
  ASSIGN_OR_RETURN(const std::string request,
                   MakeRequest(data, options_.digest, options_.policy_oid, nonce));
  std::vector<std::string> failures;
  for (const std::string& url : options_.urls) {
    absl::StatusOr<Timestamp> stamp = Ask(url, request, data, nonce);
    if (stamp.ok()) return stamp;
    failures.push_back(absl::StrCat(url, ": ", stamp.status().message()));
    Log(LogLevel::kWarning, absl::StrCat("TSA ", failures.back()));
  }
  return absl::UnavailableError(
      absl::StrCat("no TSA gave an acceptable time-stamp: ", absl::StrJoin(failures, "; ")));
}

absl::StatusOr<Timestamp> TsaClient::Ask(const std::string& url, const std::string& request,
                                         absl::string_view data, uint64_t nonce) const {
  ASSIGN_OR_RETURN(const std::string reply,
                   pki::HttpTransfer({.url = url,
                                      .body = request,
                                      .content_type = kQueryType,
                                      .expected_content_type = kReplyType,
                                      .timeout = options_.timeout,
                                      .max_response_bytes = options_.max_response_bytes}));
  const auto* cursor = reinterpret_cast<const unsigned char*>(reply.data());
  TsRespPtr response(d2i_TS_RESP(nullptr, &cursor, static_cast<long>(reply.size())));
  if (!response || cursor != reinterpret_cast<const unsigned char*>(reply.data()) + reply.size()) {
    ERR_clear_error();
    return absl::UnavailableError("the reply is not a TimeStampResp");
  }
  TS_STATUS_INFO* status_info = TS_RESP_get_status_info(response.get());
  const long status = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(status_info));
  if (status != 0 && status != 1) return absl::UnavailableError(RefusalText(status_info));
  const std::optional<absl::string_view> token = TokenBytes(reply);
  if (!token.has_value()) return absl::UnavailableError("the TSA granted a stamp but sent none");

  std::vector<X509*> anchors;
  for (const X509Ptr& anchor : anchors_) anchors.push_back(anchor.get());
  TokenVerifyOptions verify{.nonce = nonce, .digest = options_.digest};
  if (!options_.policy_oid.empty()) verify.policy_oid = options_.policy_oid;
  for (const X509Ptr& certificate : intermediates_) verify.untrusted.push_back(certificate.get());
  ASSIGN_OR_RETURN(TokenVerification verification,
                   VerifyTimestampToken(*token, data, anchors, verify));
  if (!verification.valid()) {
    return absl::UnavailableError(absl::StrCat("the reply failed a check (",
                                               TokenStatusName(verification.status),
                                               "): ", verification.problem));
  }
  const absl::Duration off = verification.facts.gen_time - absl::Now();
  if (absl::AbsDuration(off) > options_.max_clock_skew) {
    return absl::UnavailableError(absl::StrCat(
        "the stamp's genTime ",
        absl::FormatTime(absl::RFC3339_sec, verification.facts.gen_time, absl::UTCTimeZone()),
        " is ", absl::FormatDuration(absl::AbsDuration(off)),
        off < absl::ZeroDuration() ? " behind" : " ahead of", " this host's clock"));
  }
  return Timestamp{.facts = std::move(verification.facts), .url = url};
}

}  // namespace signet::timestamp
