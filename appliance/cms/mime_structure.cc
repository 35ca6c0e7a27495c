// CheckMimeStructure: the whole tree of multiparts and enclosed messages,
// walked with an explicit depth bound before any recursion.
#include <cstddef>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "appliance/cms/mime.h"
#include "common/status_macros.h"

namespace signet::cms {
namespace {

// Names where in the tree an error is, IMAP style ("2.1"; an enclosed
// message's body adds "msg"), so that a mail can be diagnosed without its
// content appearing in the error.
absl::Status At(const std::string& path, const absl::Status& status) {
  if (path.empty() || status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat("MIME part ", path, ": ", status.message()));
}

std::string Child(const std::string& path, absl::string_view component) {
  return path.empty() ? std::string(component) : absl::StrCat(path, ".", component);
}

// Errors of this level are prefixed with its path here; errors of deeper
// levels come back already prefixed. Recursion depth is bounded by
// limits.max_mime_depth + 1, checked first.
absl::Status WalkParsed(const absl::StatusOr<MimeEntity>& entity, const Limits& limits, int depth,
                        const std::string& path, bool digest_part);

absl::Status Walk(absl::string_view text, const Limits& limits, int depth, const std::string& path,
                  bool digest_part) {
  if (depth > limits.max_mime_depth) {
    return At(path, absl::InvalidArgumentError(
                        absl::StrFormat("MIME nesting deeper than %d", limits.max_mime_depth)));
  }
  return WalkParsed(ParseEntity(text, limits), limits, depth, path, digest_part);
}

// The level below Walk's depth check and parse.
absl::Status WalkParsed(const absl::StatusOr<MimeEntity>& entity, const Limits& limits, int depth,
                        const std::string& path, bool digest_part) {
  if (!entity.ok()) return At(path, entity.status());
  std::optional<ContentType> type;
  if (digest_part && entity->Find("Content-Type") == nullptr) {
    // RFC 2046 §5.1.5: a multipart/digest's parts default to messages.
    type = ContentType{.type = "message", .subtype = "rfc822"};
  } else {
    absl::StatusOr<ContentType> parsed = ContentTypeOf(*entity);
    if (!parsed.ok()) return At(path, parsed.status());
    type = *std::move(parsed);
  }

  if (type->type == "multipart") {
    const std::optional<std::string> boundary = type->Param("boundary");
    if (!boundary.has_value()) {
      return At(path, absl::InvalidArgumentError(absl::StrCat("multipart/", type->subtype,
                                                              " without a boundary parameter")));
    }
    absl::StatusOr<Multipart> multipart = SplitMultipart(entity->body, *boundary, limits);
    if (!multipart.ok()) return At(path, multipart.status());
    const bool digest = type->subtype == "digest";
    for (std::size_t i = 0; i < multipart->parts.size(); ++i) {
      RETURN_IF_ERROR(
          Walk(multipart->parts[i], limits, depth + 1, Child(path, absl::StrCat(i + 1)), digest));
    }
  } else if (type->Is("message", "rfc822")) {
    return Walk(entity->body, limits, depth + 1, Child(path, "msg"), false);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckMimeStructure(absl::string_view entity, const Limits& limits) {
  return Walk(entity, limits, 0, "", false);
}

absl::Status CheckMimeStructure(absl::string_view head, absl::string_view body,
                                const Limits& limits) {
  if (limits.max_mime_depth < 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("MIME nesting deeper than %d", limits.max_mime_depth));
  }
  // ParseEntity's size check, for the two joined.
  if (head.size() + body.size() > limits.max_message_bytes) {
    return absl::InvalidArgumentError(
        absl::StrFormat("MIME entity of %d bytes is larger than the limit of %d bytes",
                        head.size() + body.size(), limits.max_message_bytes));
  }
  absl::StatusOr<MimeEntity> entity = ParseEntity(head, limits);
  if (!entity.ok()) return entity.status();
  // Parsing the joined text stops at the same empty line only when it is
  // head's last line.
  if (!entity->body.empty() || entity->header_block.size() == head.size()) {
    return absl::InvalidArgumentError(
        "the entity's head does not end with the empty line after its fields");
  }
  entity->body = body;
  return WalkParsed(entity, limits, 0, "", false);
}

}  // namespace signet::cms
