#include "appliance/audit/chain.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace signet::audit {
namespace {

// Deterministic serialization: C++ protobuf writes fields in number order;
// the flag pins the order of anything whose order is otherwise unspecified
// (the entry has no maps today, so this is a guard for later fields).
std::string DeterministicBytes(const v1::Entry& entry) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    entry.SerializeToCodedStream(&coded);
  }
  return bytes;
}

}  // namespace

std::string Sha256(absl::string_view data) {
  // Fetched once: OpenSSL 3.0's one-shot SHA256() looks the algorithm up
  // on every call, which was about 1% of signetd's CPU on a small call
  // (every call digests its input and chains its record).
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  // Fails only when OpenSSL cannot allocate: treated like operator new
  // failing, since a chain built on an unset digest would be worse.
  if (sha256 == nullptr ||
      EVP_Digest(data.data(), data.size(), digest, nullptr, sha256, nullptr) != 1) {
    std::abort();
  }
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

std::string GenesisHash(absl::string_view log_id) {
  return Sha256(absl::StrCat("signet.audit.v1 genesis", absl::string_view("\0", 1), log_id));
}

std::string ChainHash(absl::string_view previous_hash, const v1::Entry& entry) {
  if (!entry.chain_hash().empty()) {
    v1::Entry without_hash = entry;
    without_hash.clear_chain_hash();
    return ChainHash(previous_hash, without_hash);
  }
  return Sha256(absl::StrCat(previous_hash, DeterministicBytes(entry)));
}

std::string CheckpointStatement(absl::string_view log_id, uint64_t covered_sequence,
                                absl::string_view covered_chain_hash) {
  char sequence[8];
  for (int i = 0; i < 8; ++i) sequence[i] = static_cast<char>(covered_sequence >> (56 - 8 * i));
  return absl::StrCat("signet.audit.v1 checkpoint", absl::string_view("\0", 1), log_id,
                      absl::string_view(sequence, sizeof(sequence)), covered_chain_hash);
}

}  // namespace signet::audit
