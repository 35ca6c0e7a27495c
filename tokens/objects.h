// Finding token objects and reading their attributes, on a leased session.
#ifndef SIGNET_TOKENS_OBJECTS_H_
#define SIGNET_TOKENS_OBJECTS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tokens/module.h"
#include "tokens/pkcs11.h"

namespace signet {

// A search template built from typed values; keeps the values alive for the
// duration of the C_FindObjectsInit / C_CreateObject call.
class AttributeTemplate {
 public:
  AttributeTemplate& Add(CK_ATTRIBUTE_TYPE type, CK_ULONG value);
  AttributeTemplate& AddBool(CK_ATTRIBUTE_TYPE type, bool value);
  AttributeTemplate& AddBytes(CK_ATTRIBUTE_TYPE type, std::string value);

  // Valid until the template is changed or destroyed.
  CK_ATTRIBUTE* data();
  CK_ULONG size() const { return static_cast<CK_ULONG>(types_.size()); }

 private:
  std::vector<CK_ATTRIBUTE_TYPE> types_;
  std::vector<std::string> values_;
  std::vector<CK_ATTRIBUTE> attributes_;
};

// Handles of the objects matching `search`, at most `limit` of them.
absl::StatusOr<std::vector<CK_OBJECT_HANDLE>> FindObjects(const Module& module,
                                                          CK_SESSION_HANDLE session,
                                                          AttributeTemplate& search,
                                                          CK_ULONG limit);

// Values of the attributes an object has, by type; an attribute the object
// lacks, or keeps secret, is absent from the map. Two calls: sizes, values.
using AttributeValues = std::map<CK_ATTRIBUTE_TYPE, std::string>;
absl::StatusOr<AttributeValues> ReadAttributes(const Module& module, CK_SESSION_HANDLE session,
                                               CK_OBJECT_HANDLE object,
                                               const std::vector<CK_ATTRIBUTE_TYPE>& types);

// Interpretation of values from ReadAttributes.
std::optional<bool> BoolAttribute(const AttributeValues& values, CK_ATTRIBUTE_TYPE type);
std::optional<CK_ULONG> UlongAttribute(const AttributeValues& values, CK_ATTRIBUTE_TYPE type);

// The blank-padded fixed-width text fields of CK_TOKEN_INFO and friends.
std::string FixedWidthText(const CK_UTF8CHAR* text, size_t size);

}  // namespace signet

#endif  // SIGNET_TOKENS_OBJECTS_H_
