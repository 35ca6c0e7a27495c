// An RFC 3161 time-stamping authority's answer to one request: DER
// TimeStampReq in, DER TimeStampResp out. OpenSSL's TS_RESP_CTX does the
// protocol (request checks, TSTInfo, the SignedData with an ESSCertIDv2 of
// RFC 5816); Signet supplies the key, the serials, the time and the refusal to
// stamp with an unsynchronised clock. The key is an EVP_PKEY: in signetd a
// token key through Signet's provider, so no private key byte is here.
#ifndef SIGNET_APPLIANCE_TSA_TSA_RESPONDER_H_
#define SIGNET_APPLIANCE_TSA_TSA_RESPONDER_H_

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "appliance/tsa/clock_sync.h"
#include "common/ossl_ptr.h"

namespace signet::tsa {

// RFC 3161 Accuracy; all zero leaves it out of the TSTInfo.
struct TsaAccuracy {
  int seconds = 1;
  int millis = 0;  // 0..999
  int micros = 0;  // 0..999
};

struct TsaResponderOptions {
  // The signing key (shared, not copied) and its certificate, which must
  // carry the critical extendedKeyUsage timeStamping (RFC 3161 2.3).
  EVP_PKEY* key = nullptr;
  X509* certificate = nullptr;
  // Certificates sent after the TSA's own when a request asks for
  // certificates (certReq): intermediates, usually not the root.
  std::vector<X509*> chain;
  // Dotted OIDs of the policies the TSA stamps under; the first is the
  // default for requests that name none. At least one.
  std::vector<std::string> policies;
  // The message imprint algorithms accepted, as OpenSSL names them. SHA-1 is
  // refused unless listed here (RFC 5816 left SHA-1 for new tokens behind).
  std::vector<std::string> imprint_digests = {"SHA256", "SHA384", "SHA512"};
  TsaAccuracy accuracy;
  bool ordering = false;
  // The TSA's subject as the TSTInfo's tsa field.
  bool include_tsa_name = false;
  // ESSCertIDv2's hash of the TSA certificate (RFC 5816); "SHA1" would make
  // an old ESSCertID instead, which RFC 5816 does not ask for.
  std::string ess_cert_id_digest = "SHA256";
  // The SignerInfo's digest.
  std::string signing_digest = "SHA256";
  // Digits of fractions of a second in genTime (0..6).
  unsigned clock_precision_digits = 0;
  // The source of serial numbers (a SerialCounter's Next): required. This and
  // the two callbacks below run on every thread that calls Respond, at once.
  std::function<absl::StatusOr<uint64_t>()> next_serial;
  // The time a token states.
  std::function<absl::Time()> now = [] { return absl::Now(); };
  // Asked before every stamp; an unsynchronised clock (or an error) gets
  // timeNotAvailable. Empty: the clock is not checked (a configuration
  // choice for machines whose time is kept otherwise).
  ClockSyncCheck clock_synchronized = KernelClockSynchronized;
  // Where OpenSSL fetches digests and the key's signature (the library
  // context Signet's provider is loaded in).
  OSSL_LIB_CTX* libctx = nullptr;
};

class TsaResponder {
 public:
  // INVALID_ARGUMENT for a configuration OpenSSL would refuse per request:
  // no key, a certificate without timeStamping or not matching the key, no
  // policy or one that is not an OID, a digest OpenSSL does not know,
  // accuracy out of range, no serial source.
  static absl::StatusOr<std::unique_ptr<TsaResponder>> Create(TsaResponderOptions options);

  TsaResponder(const TsaResponder&) = delete;
  TsaResponder& operator=(const TsaResponder&) = delete;

  // Always a well-formed TimeStampResp: granted with a token, or rejection
  // with a PKIFailureInfo (badDataFormat: not a request, or an imprint of
  // the wrong length; badRequest: wrong version; badAlg: a digest not
  // accepted; unacceptedPolicy; unacceptedExtension; timeNotAvailable: the
  // clock is not synchronised; systemFailure: the serial or the signature
  // failed). Safe to call from several threads at once.
  std::string Respond(absl::string_view request_der) const;

  ~TsaResponder();

  // Opaque: what Create checked, defined in tsa_responder.cc.
  struct Config;

 private:
  explicit TsaResponder(std::unique_ptr<Config> config);

  std::unique_ptr<Config> config_;
};

// A rejection with systemFailure, for when even OpenSSL's answer could not
// be made (out of memory); also what Respond returns then.
const std::string& SystemFailureResponse();

}  // namespace signet::tsa

#endif  // SIGNET_APPLIANCE_TSA_TSA_RESPONDER_H_
