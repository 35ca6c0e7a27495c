#include "appliance/cms/decryption_algorithms.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/ossl_ptr.h"
#include "tokens/keys/oaep.h"

namespace signet::cms {
namespace {

using RsaOaepParamsPtr = OsslPtr<RSA_OAEP_PARAMS, RSA_OAEP_PARAMS_free>;
using X509AlgorPtr = OsslPtr<X509_ALGOR, X509_ALGOR_free>;

constexpr char kKeyTransports[] =
    "RSA PKCS#1 v1.5, and RSA-OAEP with SHA-1, SHA-256, SHA-384 or SHA-512, MGF1 with the same "
    "hash and no label";
constexpr char kContentEncryptions[] =
    "AES-GCM in AuthEnvelopedData, and in EnvelopedData ciphers without authentication such as "
    "AES-CBC";

// Hashes by the names their standards give them; anything else by OpenSSL's
// name for the OID, or the OID itself.
std::string AlgorithmName(const ASN1_OBJECT* object) {
  switch (OBJ_obj2nid(object)) {
    case NID_sha1:
      return "SHA-1";
    case NID_sha224:
      return "SHA-224";
    case NID_sha256:
      return "SHA-256";
    case NID_sha384:
      return "SHA-384";
    case NID_sha512:
      return "SHA-512";
    case NID_sha512_224:
      return "SHA-512/224";
    case NID_sha512_256:
      return "SHA-512/256";
    default:
      break;
  }
  char name[128];
  const int length = OBJ_obj2txt(name, sizeof(name), object, /*no_name=*/0);
  if (length <= 0) return "an unknown algorithm";
  if (static_cast<size_t>(length) >= sizeof(name)) return "an unknown algorithm (a long OID)";
  return name;
}

absl::Status Unsupported(absl::string_view what, absl::string_view name,
                         absl::string_view supported) {
  return absl::UnimplementedError(absl::StrCat("the mail's ", what, " is ", name, ", ",
                                               kNotDecryptedBySignet, " (it decrypts ", supported,
                                               ")"));
}

// An AlgorithmIdentifier's parameter, DER-encoded inside a SEQUENCE, decoded
// with `d2i`; null when it is absent or does not decode.
template <typename T, typename Decode>
T* DecodeSequenceParameter(const X509_ALGOR* algorithm, Decode d2i) {
  int type = 0;
  const void* value = nullptr;
  X509_ALGOR_get0(nullptr, &type, &value, algorithm);
  if (type != V_ASN1_SEQUENCE || value == nullptr) return nullptr;
  const auto* sequence = static_cast<const ASN1_STRING*>(value);
  const unsigned char* cursor = ASN1_STRING_get0_data(sequence);
  return d2i(nullptr, &cursor, ASN1_STRING_length(sequence));
}

absl::Status CheckOaep(const X509_ALGOR* algorithm) {
  RsaOaepParamsPtr params(
      DecodeSequenceParameter<RSA_OAEP_PARAMS>(algorithm, &d2i_RSA_OAEP_PARAMS));
  if (params == nullptr) return absl::OkStatus();
  // RFC 8017 A.2.1: an absent hash is SHA-1 (null below), an absent mask
  // generation function MGF1 with SHA-1, an absent label source the empty
  // label.
  const ASN1_OBJECT* digest = nullptr;
  if (params->hashFunc != nullptr) X509_ALGOR_get0(&digest, nullptr, nullptr, params->hashFunc);
  X509AlgorPtr mgf1_hash;
  if (params->maskGenFunc != nullptr) {
    const ASN1_OBJECT* mgf = nullptr;
    X509_ALGOR_get0(&mgf, nullptr, nullptr, params->maskGenFunc);
    if (OBJ_obj2nid(mgf) != NID_mgf1) {
      return Unsupported(
          "key transport",
          absl::StrCat("RSA-OAEP with the mask generation function ", AlgorithmName(mgf)),
          kKeyTransports);
    }
    mgf1_hash.reset(DecodeSequenceParameter<X509_ALGOR>(params->maskGenFunc, &d2i_X509_ALGOR));
    if (mgf1_hash == nullptr) return absl::OkStatus();
  }
  const ASN1_OBJECT* mgf1_digest = nullptr;
  if (mgf1_hash != nullptr) X509_ALGOR_get0(&mgf1_digest, nullptr, nullptr, mgf1_hash.get());
  auto nid = [](const ASN1_OBJECT* hash) { return hash != nullptr ? OBJ_obj2nid(hash) : NID_sha1; };
  auto name = [](const ASN1_OBJECT* hash) {
    return hash != nullptr ? AlgorithmName(hash) : std::string("SHA-1");
  };
  if (!OaepScheme(nid(digest), nid(mgf1_digest)).has_value()) {
    return Unsupported(
        "key transport",
        absl::StrCat("RSA-OAEP with ", name(digest), " and MGF1 with ", name(mgf1_digest)),
        kKeyTransports);
  }
  if (params->pSourceFunc != nullptr) {
    const ASN1_OBJECT* source = nullptr;
    int type = 0;
    const void* value = nullptr;
    X509_ALGOR_get0(&source, &type, &value, params->pSourceFunc);
    if (OBJ_obj2nid(source) != NID_pSpecified) {
      return Unsupported("key transport",
                         absl::StrCat("RSA-OAEP with the label source ", AlgorithmName(source)),
                         kKeyTransports);
    }
    if (type == V_ASN1_OCTET_STRING && value != nullptr &&
        ASN1_STRING_length(static_cast<const ASN1_STRING*>(value)) > 0) {
      return Unsupported("key transport", "RSA-OAEP with a label", kKeyTransports);
    }
  }
  return absl::OkStatus();
}

absl::Status CheckKeyTransport(CMS_ContentInfo* cms, X509* certificate) {
  STACK_OF(CMS_RecipientInfo)* infos = CMS_get0_RecipientInfos(cms);
  for (int i = 0; i < sk_CMS_RecipientInfo_num(infos); ++i) {
    CMS_RecipientInfo* info = sk_CMS_RecipientInfo_value(infos, i);
    if (CMS_RecipientInfo_type(info) != CMS_RECIPINFO_TRANS ||
        CMS_RecipientInfo_ktri_cert_cmp(info, certificate) != 0) {
      continue;
    }
    X509_ALGOR* algorithm = nullptr;
    if (CMS_RecipientInfo_ktri_get0_algs(info, nullptr, nullptr, &algorithm) != 1 ||
        algorithm == nullptr) {
      return absl::OkStatus();
    }
    const ASN1_OBJECT* object = nullptr;
    X509_ALGOR_get0(&object, nullptr, nullptr, algorithm);
    switch (OBJ_obj2nid(object)) {
      case NID_rsaEncryption:
        return absl::OkStatus();
      case NID_rsaesOaep:
        return CheckOaep(algorithm);
      default:
        return Unsupported("key transport", AlgorithmName(object), kKeyTransports);
    }
  }
  return absl::OkStatus();
}

// A bounded reader of the BER that ParseCms accepted, for the one field
// OpenSSL 3.0 has no accessor for: EncryptedContentInfo's
// contentEncryptionAlgorithm. Any surprise ends the walk without a verdict.
class BerReader {
 public:
  explicit BerReader(absl::string_view ber)
      : data_(reinterpret_cast<const uint8_t*>(ber.data())), size_(ber.size()) {}

  size_t position() const { return position_; }

  // The identifier octet of the next value, if there is one.
  std::optional<uint8_t> Peek() const {
    if (position_ >= size_) return std::nullopt;
    return data_[position_];
  }
  // Moves into the next value, which must have `identifier` and be
  // constructed.
  bool Enter(uint8_t identifier) {
    std::optional<Header> header = ReadHeader(position_);
    if (!header || data_[position_] != identifier) return false;
    position_ += header->header_length;
    return true;
  }
  // Moves past the next value, which must have `identifier`.
  bool Skip(uint8_t identifier) {
    if (Peek() != identifier) return false;
    std::optional<size_t> end = EndOf(position_, 0);
    if (!end) return false;
    position_ = *end;
    return true;
  }
  // The next value whole, and moves past it.
  std::optional<absl::string_view> Take(uint8_t identifier) {
    const size_t start = position_;
    if (!Skip(identifier)) return std::nullopt;
    return absl::string_view(reinterpret_cast<const char*>(data_ + start), position_ - start);
  }

 private:
  // Deeper than any CMS structure ParseCms lets through.
  static constexpr int kMaxDepth = 256;

  struct Header {
    size_t header_length;
    bool indefinite;
    size_t length;
  };

  std::optional<Header> ReadHeader(size_t at) const {
    size_t pos = at;
    if (pos >= size_) return std::nullopt;
    const uint8_t identifier = data_[pos++];
    if ((identifier & 0x1f) == 0x1f) {
      do {
        if (pos >= size_ || pos - at > 5) return std::nullopt;
      } while ((data_[pos++] & 0x80) != 0);
    }
    if (pos >= size_) return std::nullopt;
    const uint8_t first = data_[pos++];
    Header header{0, false, 0};
    if (first == 0x80) {
      header.indefinite = true;
    } else if ((first & 0x80) != 0) {
      const int octets = first & 0x7f;
      if (octets > 4 || size_ - pos < static_cast<size_t>(octets)) return std::nullopt;
      for (int i = 0; i < octets; ++i) header.length = (header.length << 8) | data_[pos++];
    } else {
      header.length = first;
    }
    header.header_length = pos - at;
    if (!header.indefinite && header.length > size_ - pos) return std::nullopt;
    return header;
  }

  std::optional<size_t> EndOf(size_t at, int depth) const {
    if (depth > kMaxDepth) return std::nullopt;
    std::optional<Header> header = ReadHeader(at);
    if (!header) return std::nullopt;
    size_t pos = at + header->header_length;
    if (!header->indefinite) return pos + header->length;
    while (true) {
      if (size_ - pos >= 2 && data_[pos] == 0 && data_[pos + 1] == 0) return pos + 2;
      std::optional<size_t> end = EndOf(pos, depth + 1);
      if (!end || *end <= pos) return std::nullopt;
      pos = *end;
    }
  }

  const uint8_t* data_;
  size_t size_;
  size_t position_ = 0;
};

constexpr uint8_t kSequence = 0x30;
constexpr uint8_t kSet = 0x31;
constexpr uint8_t kInteger = 0x02;
constexpr uint8_t kOid = 0x06;
constexpr uint8_t kContext0 = 0xa0;

// ContentInfo { contentType, [0] EXPLICIT (Auth)EnvelopedData { version,
// originatorInfo [0] OPTIONAL, recipientInfos, (auth)EncryptedContentInfo {
// contentType, contentEncryptionAlgorithm, ... } } } (RFC 5652, RFC 5083).
X509AlgorPtr ContentEncryptionAlgorithm(absl::string_view ber) {
  BerReader reader(ber);
  if (!reader.Enter(kSequence) || !reader.Skip(kOid) || !reader.Enter(kContext0) ||
      !reader.Enter(kSequence) || !reader.Skip(kInteger)) {
    return nullptr;
  }
  if (reader.Peek() == kContext0 && !reader.Skip(kContext0)) return nullptr;
  if (!reader.Skip(kSet) || !reader.Enter(kSequence) || !reader.Skip(kOid)) return nullptr;
  std::optional<absl::string_view> algorithm = reader.Take(kSequence);
  if (!algorithm) return nullptr;
  const auto* cursor = reinterpret_cast<const unsigned char*>(algorithm->data());
  return X509AlgorPtr(d2i_X509_ALGOR(nullptr, &cursor, static_cast<long>(algorithm->size())));
}

absl::Status CheckContentEncryption(const CmsContext& context, CMS_ContentInfo* cms,
                                    absl::string_view ber) {
  X509AlgorPtr algorithm = ContentEncryptionAlgorithm(ber);
  if (algorithm == nullptr) return absl::OkStatus();
  const ASN1_OBJECT* object = nullptr;
  X509_ALGOR_get0(&object, nullptr, nullptr, algorithm.get());
  const bool authenticated = OBJ_obj2nid(CMS_get0_type(cms)) == NID_id_smime_ct_authEnvelopedData;
  // Fetched by the name OpenSSL's CMS code fetches it by.
  char name[128];
  const int length = OBJ_obj2txt(name, sizeof(name), object, /*no_name=*/0);
  EvpCipherPtr cipher;
  if (length > 0 && static_cast<size_t>(length) < sizeof(name)) {
    cipher.reset(EVP_CIPHER_fetch(context.libctx, name, nullptr));
  }
  const bool usable =
      cipher != nullptr &&
      (authenticated ? EVP_CIPHER_get_mode(cipher.get()) == EVP_CIPH_GCM_MODE
                     : (EVP_CIPHER_get_flags(cipher.get()) & EVP_CIPH_FLAG_AEAD_CIPHER) == 0);
  if (usable) return absl::OkStatus();
  return Unsupported("content encryption",
                     absl::StrCat(AlgorithmName(object),
                                  authenticated ? " in AuthEnvelopedData" : " in EnvelopedData"),
                     kContentEncryptions);
}

}  // namespace

absl::Status CheckDecryptionAlgorithms(const CmsContext& context, CMS_ContentInfo* cms,
                                       absl::string_view ber, X509* certificate) {
  absl::Status status = CheckKeyTransport(cms, certificate);
  if (status.ok()) status = CheckContentEncryption(context, cms, ber);
  ERR_clear_error();
  return status;
}

}  // namespace signet::cms
