#include "appliance/tsa/tsa_responder.h"

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/ts.h>
#include <sys/time.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/der.h"
#include "common/log.h"
#include "common/openssl_error.h"

namespace signet::tsa {
namespace {

absl::StatusOr<EvpMdPtr> FetchDigest(OSSL_LIB_CTX* libctx, const std::string& name,
                                     absl::string_view role) {
  EvpMdPtr md(EVP_MD_fetch(libctx, name.c_str(), nullptr));
  if (md == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        absl::StrCat("unknown digest '", name, "' for the ", role));
  }
  return md;
}

absl::StatusOr<Asn1ObjectPtr> PolicyOid(const std::string& text) {
  // no_name = 1: only dotted numbers, so a typo is no silent short name.
  Asn1ObjectPtr oid(OBJ_txt2obj(text.c_str(), 1));
  if (oid == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat("TSA policy '", text, "' is not an OID"));
  }
  return oid;
}

}  // namespace

struct TsaResponder::Config {
  EvpPkeyPtr key;
  X509Ptr certificate;
  X509StackPtr chain;
  std::vector<Asn1ObjectPtr> policies;
  // TS_RESP_CTX keeps bare pointers to the digests: they live here.
  std::vector<EvpMdPtr> imprint_digests;
  EvpMdPtr ess_cert_id_digest;
  EvpMdPtr signing_digest;
  TsaAccuracy accuracy;
  int flags = 0;
  unsigned clock_precision_digits = 0;
  std::function<absl::StatusOr<uint64_t>()> next_serial;
  std::function<absl::Time()> now;
  ClockSyncCheck clock_synchronized;
  OSSL_LIB_CTX* libctx = nullptr;
};

namespace {

void Reject(TS_RESP_CTX* ctx, const char* text, int failure) {
  TS_RESP_CTX_set_status_info(ctx, TS_STATUS_REJECTION, text);
  TS_RESP_CTX_add_failure_info(ctx, failure);
}

// OpenSSL asks for the serial before the time, so the clock is checked here:
// a refused stamp then costs no serial.
ASN1_INTEGER* SerialCallback(TS_RESP_CTX* ctx, void* data) {
  const auto* config = static_cast<const TsaResponder::Config*>(data);
  if (config->clock_synchronized) {
    absl::StatusOr<bool> synchronized = config->clock_synchronized();
    if (!synchronized.ok() || !*synchronized) {
      Log(LogLevel::kWarning,
          absl::StrCat(
              "time-stamp refused: the system clock is not synchronised",
              synchronized.ok() ? "" : absl::StrCat(" (", synchronized.status().message(), ")")));
      Reject(ctx, "Time is not available.", TS_INFO_TIME_NOT_AVAILABLE);
      return nullptr;
    }
  }
  absl::StatusOr<uint64_t> serial = config->next_serial();
  Asn1IntegerPtr value(ASN1_INTEGER_new());
  if (!serial.ok() || value == nullptr || ASN1_INTEGER_set_uint64(value.get(), *serial) != 1) {
    Log(LogLevel::kError, absl::StrCat("time-stamp refused: no serial number: ",
                                       serial.ok() ? "out of memory" : serial.status().ToString()));
    Reject(ctx, "Error during serial number generation.", TS_INFO_SYSTEM_FAILURE);
    return nullptr;
  }
  return value.release();
}

int TimeCallback(TS_RESP_CTX* /*ctx*/, void* data, long* seconds, long* micros) {
  const auto* config = static_cast<const TsaResponder::Config*>(data);
  const timeval now = absl::ToTimeval(config->now());
  *seconds = static_cast<long>(now.tv_sec);
  *micros = static_cast<long>(now.tv_usec);
  return 1;
}

}  // namespace

const std::string& SystemFailureResponse() {
  // TimeStampResp { PKIStatusInfo { status rejection(2), failInfo
  // systemFailure(25) } }: a constant, so that it needs no allocation.
  static const std::string* const kResponse =
      new std::string("\x30\x0c\x30\x0a\x02\x01\x02\x03\x05\x06\x00\x00\x00\x40", 14);
  return *kResponse;
}

TsaResponder::TsaResponder(std::unique_ptr<Config> config) : config_(std::move(config)) {}
TsaResponder::~TsaResponder() = default;

absl::StatusOr<std::unique_ptr<TsaResponder>> TsaResponder::Create(TsaResponderOptions options) {
  auto config = std::make_unique<Config>();
  if (options.key == nullptr || options.certificate == nullptr) {
    return absl::InvalidArgumentError("the TSA needs a signing key and its certificate");
  }
  // OpenSSL checks the same per request (TS_RESP_CTX_set_signer_cert) and
  // would refuse every stamp; say it once, at start.
  if (X509_check_purpose(options.certificate, X509_PURPOSE_TIMESTAMP_SIGN, 0) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        "the TSA certificate does not carry the critical extendedKeyUsage timeStamping alone");
  }
  if (X509_check_private_key(options.certificate, options.key) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "the TSA certificate is not the signing key's");
  }
  config->key = ShareKey(options.key);
  X509_up_ref(options.certificate);
  config->certificate.reset(options.certificate);
  config->chain.reset(sk_X509_new_null());
  if (config->chain == nullptr) return OpenSslError("cannot allocate the TSA chain");
  for (X509* certificate : options.chain) {
    if (certificate == nullptr || sk_X509_push(config->chain.get(), certificate) <= 0) {
      return absl::InvalidArgumentError("the TSA chain holds no certificate");
    }
    X509_up_ref(certificate);
  }
  if (options.policies.empty()) {
    return absl::InvalidArgumentError("the TSA needs at least one policy OID");
  }
  for (const std::string& policy : options.policies) {
    absl::StatusOr<Asn1ObjectPtr> oid = PolicyOid(policy);
    if (!oid.ok()) return oid.status();
    config->policies.push_back(std::move(*oid));
  }
  if (options.imprint_digests.empty()) {
    return absl::InvalidArgumentError("the TSA needs at least one message imprint digest");
  }
  for (const std::string& name : options.imprint_digests) {
    absl::StatusOr<EvpMdPtr> md = FetchDigest(options.libctx, name, "message imprint");
    if (!md.ok()) return md.status();
    config->imprint_digests.push_back(std::move(*md));
  }
  absl::StatusOr<EvpMdPtr> ess =
      FetchDigest(options.libctx, options.ess_cert_id_digest, "ESSCertID");
  if (!ess.ok()) return ess.status();
  config->ess_cert_id_digest = std::move(*ess);
  absl::StatusOr<EvpMdPtr> signing =
      FetchDigest(options.libctx, options.signing_digest, "TSA signature");
  if (!signing.ok()) return signing.status();
  config->signing_digest = std::move(*signing);
  const TsaAccuracy& accuracy = options.accuracy;
  if (accuracy.seconds < 0 || accuracy.millis < 0 || accuracy.millis > 999 || accuracy.micros < 0 ||
      accuracy.micros > 999) {
    return absl::InvalidArgumentError(
        "TSA accuracy: seconds must not be negative, millis and micros 0..999");
  }
  config->accuracy = accuracy;
  if (options.clock_precision_digits > TS_MAX_CLOCK_PRECISION_DIGITS) {
    return absl::InvalidArgumentError(
        absl::StrCat("TSA clock precision: at most ", TS_MAX_CLOCK_PRECISION_DIGITS, " digits"));
  }
  config->clock_precision_digits = options.clock_precision_digits;
  if (!options.next_serial || !options.now) {
    return absl::InvalidArgumentError("the TSA needs a serial source and a clock");
  }
  if (options.ordering) config->flags |= TS_ORDERING;
  if (options.include_tsa_name) config->flags |= TS_TSA_NAME;
  config->next_serial = std::move(options.next_serial);
  config->now = std::move(options.now);
  config->clock_synchronized = std::move(options.clock_synchronized);
  config->libctx = options.libctx;
  return std::unique_ptr<TsaResponder>(new TsaResponder(std::move(config)));
}

std::string TsaResponder::Respond(absl::string_view request_der) const {
  // A context per call: TS_RESP_CTX holds the request being answered, so
  // one shared context would serialise every caller.
  const Config& config = *config_;
  TsRespCtxPtr ctx(TS_RESP_CTX_new_ex(config.libctx, nullptr));
  bool configured =
      ctx != nullptr && TS_RESP_CTX_set_signer_cert(ctx.get(), config.certificate.get()) == 1 &&
      TS_RESP_CTX_set_signer_key(ctx.get(), config.key.get()) == 1 &&
      TS_RESP_CTX_set_signer_digest(ctx.get(), config.signing_digest.get()) == 1 &&
      TS_RESP_CTX_set_ess_cert_id_digest(ctx.get(), config.ess_cert_id_digest.get()) == 1 &&
      TS_RESP_CTX_set_def_policy(ctx.get(), config.policies.front().get()) == 1 &&
      TS_RESP_CTX_set_accuracy(ctx.get(), config.accuracy.seconds, config.accuracy.millis,
                               config.accuracy.micros) == 1 &&
      TS_RESP_CTX_set_clock_precision_digits(ctx.get(), config.clock_precision_digits) == 1;
  if (configured && sk_X509_num(config.chain.get()) > 0) {
    configured = TS_RESP_CTX_set_certs(ctx.get(), config.chain.get()) == 1;
  }
  for (size_t i = 1; configured && i < config.policies.size(); ++i) {
    configured = TS_RESP_CTX_add_policy(ctx.get(), config.policies[i].get()) == 1;
  }
  for (size_t i = 0; configured && i < config.imprint_digests.size(); ++i) {
    configured = TS_RESP_CTX_add_md(ctx.get(), config.imprint_digests[i].get()) == 1;
  }
  if (!configured) {
    Log(LogLevel::kError, OpenSslError("cannot set up a time-stamp response").ToString());
    return SystemFailureResponse();
  }
  TS_RESP_CTX_add_flags(ctx.get(), config.flags);
  void* data = const_cast<Config*>(&config);
  TS_RESP_CTX_set_serial_cb(ctx.get(), SerialCallback, data);
  TS_RESP_CTX_set_time_cb(ctx.get(), TimeCallback, data);

  BioPtr request = ReadBio(request_der);
  TsRespPtr response(request == nullptr ? nullptr
                                        : TS_RESP_create_response(ctx.get(), request.get()));
  if (response == nullptr) {
    Log(LogLevel::kError, OpenSslError("cannot make a time-stamp response").ToString());
    return SystemFailureResponse();
  }
  TS_STATUS_INFO* status = TS_RESP_get_status_info(response.get());
  // OpenSSL marks its own failures (a signature that failed, a TSTInfo it
  // could not build) as rejections with no failure info, which tells the
  // client nothing; they are the TSA's failure.
  if (ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(status)) == TS_STATUS_REJECTION &&
      TS_STATUS_INFO_get0_failure_info(status) == nullptr) {
    Log(LogLevel::kError, OpenSslError("time-stamp failed").ToString());
    return SystemFailureResponse();
  }
  // Rejections leave OpenSSL's reasons queued; they are the client's
  // mistakes, not news for the next operation on this thread.
  ERR_clear_error();
  std::string der = DerOf<TS_RESP, i2d_TS_RESP>(response.get());
  if (der.empty()) {
    Log(LogLevel::kError, OpenSslError("cannot encode a time-stamp response").ToString());
    return SystemFailureResponse();
  }
  return der;
}

}  // namespace signet::tsa
