#include "tokens/objects.h"

#include <cstring>

#include "absl/strings/ascii.h"

namespace signet {

AttributeTemplate& AttributeTemplate::Add(CK_ATTRIBUTE_TYPE type, CK_ULONG value) {
  return AddBytes(type, std::string(reinterpret_cast<const char*>(&value), sizeof(value)));
}

AttributeTemplate& AttributeTemplate::AddBool(CK_ATTRIBUTE_TYPE type, bool value) {
  CK_BBOOL b = value ? CK_TRUE : CK_FALSE;
  return AddBytes(type, std::string(reinterpret_cast<const char*>(&b), sizeof(b)));
}

AttributeTemplate& AttributeTemplate::AddBytes(CK_ATTRIBUTE_TYPE type, std::string value) {
  types_.push_back(type);
  values_.push_back(std::move(value));
  return *this;
}

CK_ATTRIBUTE* AttributeTemplate::data() {
  attributes_.clear();
  for (size_t i = 0; i < types_.size(); ++i) {
    attributes_.push_back(
        CK_ATTRIBUTE{types_[i], values_[i].data(), static_cast<CK_ULONG>(values_[i].size())});
  }
  return attributes_.data();
}

absl::StatusOr<std::vector<CK_OBJECT_HANDLE>> FindObjects(const Module& module,
                                                          CK_SESSION_HANDLE session,
                                                          AttributeTemplate& search,
                                                          CK_ULONG limit) {
  CK_RV rv = SIGNET_P11(module, FindObjectsInit, session, search.data(), search.size());
  if (rv != CKR_OK) return SIGNET_P11_ERROR(FindObjectsInit, rv);
  std::vector<CK_OBJECT_HANDLE> found(limit);
  CK_ULONG count = 0;
  rv = SIGNET_P11(module, FindObjects, session, found.data(), limit, &count);
  // The search must be finished even when it failed, or the session stays
  // in the find state and every later operation on it fails.
  CK_RV final_rv = SIGNET_P11(module, FindObjectsFinal, session);
  if (rv != CKR_OK) return SIGNET_P11_ERROR(FindObjects, rv);
  if (final_rv != CKR_OK) return SIGNET_P11_ERROR(FindObjectsFinal, final_rv);
  found.resize(count);
  return found;
}

absl::StatusOr<AttributeValues> ReadAttributes(const Module& module, CK_SESSION_HANDLE session,
                                               CK_OBJECT_HANDLE object,
                                               const std::vector<CK_ATTRIBUTE_TYPE>& types) {
  std::vector<CK_ATTRIBUTE> attributes;
  for (CK_ATTRIBUTE_TYPE type : types) attributes.push_back(CK_ATTRIBUTE{type, nullptr, 0});
  CK_RV rv = SIGNET_P11(module, GetAttributeValue, session, object, attributes.data(),
                        static_cast<CK_ULONG>(attributes.size()));
  // These two still report the sizes of the attributes that do exist.
  if (rv != CKR_OK && rv != CKR_ATTRIBUTE_TYPE_INVALID && rv != CKR_ATTRIBUTE_SENSITIVE) {
    return SIGNET_P11_ERROR(GetAttributeValue, rv);
  }
  std::vector<std::string> buffers(attributes.size());
  for (size_t i = 0; i < attributes.size(); ++i) {
    if (attributes[i].ulValueLen == CK_UNAVAILABLE_INFORMATION) continue;
    buffers[i].resize(attributes[i].ulValueLen);
    attributes[i].pValue = buffers[i].data();
  }
  rv = SIGNET_P11(module, GetAttributeValue, session, object, attributes.data(),
                  static_cast<CK_ULONG>(attributes.size()));
  if (rv != CKR_OK && rv != CKR_ATTRIBUTE_TYPE_INVALID && rv != CKR_ATTRIBUTE_SENSITIVE) {
    return SIGNET_P11_ERROR(GetAttributeValue, rv);
  }
  AttributeValues values;
  for (size_t i = 0; i < attributes.size(); ++i) {
    if (attributes[i].pValue == nullptr || attributes[i].ulValueLen == CK_UNAVAILABLE_INFORMATION) {
      continue;
    }
    buffers[i].resize(attributes[i].ulValueLen);
    values.emplace(attributes[i].type, std::move(buffers[i]));
  }
  return values;
}

std::optional<bool> BoolAttribute(const AttributeValues& values, CK_ATTRIBUTE_TYPE type) {
  auto it = values.find(type);
  if (it == values.end() || it->second.size() != sizeof(CK_BBOOL)) return std::nullopt;
  return it->second[0] != CK_FALSE;
}

std::optional<CK_ULONG> UlongAttribute(const AttributeValues& values, CK_ATTRIBUTE_TYPE type) {
  auto it = values.find(type);
  if (it == values.end() || it->second.size() != sizeof(CK_ULONG)) return std::nullopt;
  CK_ULONG value;
  std::memcpy(&value, it->second.data(), sizeof(value));
  return value;
}

std::string FixedWidthText(const CK_UTF8CHAR* text, size_t size) {
  std::string result(reinterpret_cast<const char*>(text), size);
  // Blank padding is the standard; some tokens pad with NULs.
  while (!result.empty() && (result.back() == '\0' || absl::ascii_isspace(result.back()))) {
    result.pop_back();
  }
  return result;
}

}  // namespace signet
