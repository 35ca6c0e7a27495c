// A detached SignedData with one signer (RFC 5652 §5), encoded once per
// signer and completed per signature with the content's digest, the
// signing time and the signature.
//
// Why: OpenSSL's CMS_sign path builds, sorts and encodes every signed
// attribute, the certificates and the structures around them anew for each
// signature, and checks the key against the certificate each time: about a
// fifth of signetd's CPU for a P-256 SignDigest (docs/performance.md), while
// all but three values are the same from one signature to the next.
//
// The template is OpenSSL's own encoding of the prepared, unsigned
// SignedData (for RSA-PSS with the signature algorithm set as OpenSSL sets
// it when it signs content, signed_data.cc), so its bytes are the ones
// OpenSSL would have written.
// Completing it overwrites the two fixed-length attribute values in place
// (the attributes' DER order cannot change: it is decided by their lengths
// and types before any value is reached) and appends the signature. The
// signature is the last element of the last SignerInfo, so nothing before
// it moves; only the lengths of the five structures around it are written
// anew.
#ifndef SIGNET_APPLIANCE_CMS_SIGNED_DATA_TEMPLATE_H_
#define SIGNET_APPLIANCE_CMS_SIGNED_DATA_TEMPLATE_H_

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace signet::cms {

// signingTime's type (RFC 5652 §11.3): UTCTime from 1950 to 2049,
// GeneralizedTime otherwise. A template holds one of them.
enum class TimeForm { kUtcTime, kGeneralizedTime };
TimeForm TimeFormOf(absl::Time when);

// The time's content octets in its form, to the second ("YYMMDDHHMMSSZ" or
// "YYYYMMDDHHMMSSZ"), as OpenSSL's ASN1_TIME_set writes them.
std::string SigningTimeOctets(absl::Time when);

class SignedDataTemplate {
 public:
  // `content_info`: the DER of a ContentInfo holding a SignedData without
  // content, whose single SignerInfo has signed attributes with a
  // messageDigest of `digest_length` bytes and a signingTime, an empty
  // signature and no unsigned attributes. InvalidArgument otherwise.
  static absl::StatusOr<SignedDataTemplate> Parse(absl::string_view content_info,
                                                  size_t digest_length);

  // The signed attributes with this digest and time, encoded as they are
  // signed (with the SET OF tag, RFC 5652 §5.4). InvalidArgument when the
  // digest or the time octets do not fit the template's.
  absl::StatusOr<std::string> SignedAttributes(absl::string_view digest,
                                               absl::string_view time_octets) const;

  // The ContentInfo with these signed attributes (as SignedAttributes gave
  // them) and this signature.
  std::string Complete(absl::string_view signed_attributes, absl::string_view signature) const;

  TimeForm time_form() const { return time_form_; }

 private:
  SignedDataTemplate() = default;

  // The ContentInfo's contentType, whole (tag, length, OID).
  std::string content_type_;
  // The SignedData's elements before signerInfos, whole.
  std::string signed_data_head_;
  // The SignerInfo's elements before signedAttrs, whole.
  std::string signer_info_head_;
  // The signed attributes, with the SET OF tag.
  std::string signed_attributes_;
  // The signatureAlgorithm, whole.
  std::string signature_algorithm_;
  // Where the values go in signed_attributes_.
  size_t digest_offset_ = 0;
  size_t digest_length_ = 0;
  size_t time_offset_ = 0;
  size_t time_length_ = 0;
  TimeForm time_form_ = TimeForm::kUtcTime;
};

// One signer's templates, one per thing a template depends on beyond the
// signer (digest, padding, time form), kept by whoever keeps the signer's
// key and certificates and dropped with them: a template holds no
// reference to them, and a cache that outlived a key would keep the key's
// provider in use past its teardown. It tells entries apart by the
// addresses of the key, certificates and library context, which is sound
// only while those live as long as the cache, so it must only ever be used
// with that one signer's objects. Thread-safe.
class SignerTemplateCache {
 public:
  struct Id {
    const void* libctx = nullptr;
    const void* key = nullptr;
    const void* certificate = nullptr;
    std::vector<const void*> chain;
    int digest = 0;
    bool rsa_pss = false;
    TimeForm time_form = TimeForm::kUtcTime;

    bool operator==(const Id&) const = default;
  };

  // The template for `id`, made by `make` the first time (and not kept if
  // making it fails).
  absl::StatusOr<std::shared_ptr<const SignedDataTemplate>> Get(
      const Id& id, const std::function<absl::StatusOr<SignedDataTemplate>()>& make);

 private:
  // A signer has a few at most; a cache that somehow filled starts over.
  static constexpr size_t kMaxEntries = 16;

  std::mutex mutex_;
  std::vector<std::pair<Id, std::shared_ptr<const SignedDataTemplate>>> entries_;
};

}  // namespace signet::cms

#endif  // SIGNET_APPLIANCE_CMS_SIGNED_DATA_TEMPLATE_H_
