// Feeds arbitrary bytes through the MIME parsers as the daemon does (entity,
// Content-Type, multipart split, the whole tree, base64 body) and checks
// what must hold for any input: views stay inside the input and tile it as
// documented, a structure that checks out also parses level by level,
// base64 round-trips (and its AVX2 implementation gives the scalar one's
// results and errors), CRLF canonical form has no bare LF, and error
// messages stay short (they must never carry mail content).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "appliance/cms/base64_internal.h"
#include "appliance/cms/fuzz/fuzz_check.h"
#include "appliance/cms/limits.h"
#include "appliance/cms/mime.h"

namespace signet::cms {
namespace {

// Small limits, so that the fuzzer reaches them.
Limits FuzzLimits() {
  Limits limits;
  limits.max_message_bytes = std::size_t{1} << 20;
  limits.max_mime_depth = 8;
  limits.max_header_fields = 64;
  limits.max_parts = 64;
  return limits;
}

bool Within(absl::string_view view, absl::string_view text) {
  return view.data() >= text.data() && view.data() + view.size() <= text.data() + text.size();
}

// Errors name lines, offsets and at most a few dozen quoted bytes.
void CheckError(const absl::Status& status) {
  SIGNET_FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  SIGNET_FUZZ_CHECK(status.message().size() <= 400);
}

void CheckBase64RoundTrip(absl::string_view data) {
  const std::string encoded = Base64Encode(data);
  SIGNET_FUZZ_CHECK(data.empty() == encoded.empty());
  SIGNET_FUZZ_CHECK(encoded.empty() || absl::EndsWith(encoded, "\r\n"));
  std::size_t line_length = 0;
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] == '\r') {
      SIGNET_FUZZ_CHECK(i + 1 < encoded.size() && encoded[i + 1] == '\n');
      SIGNET_FUZZ_CHECK(line_length > 0 && line_length <= 76);
      line_length = 0;
      ++i;
    } else {
      ++line_length;
    }
  }
  absl::StatusOr<std::string> decoded = Base64Decode(encoded);
  SIGNET_FUZZ_CHECK(decoded.ok());
  SIGNET_FUZZ_CHECK(*decoded == data);
}

#if defined(__x86_64__)
void CheckSameDecoding(absl::string_view text) {
  const absl::StatusOr<std::string> avx2 = base64_internal::DecodeAvx2(text);
  const absl::StatusOr<std::string> scalar = base64_internal::DecodeScalar(text);
  SIGNET_FUZZ_CHECK(avx2.status() == scalar.status());
  if (scalar.ok()) SIGNET_FUZZ_CHECK(*avx2 == *scalar);
}
#endif

// The AVX2 codec against the scalar one, where the CPU runs AVX2: the input
// encoded, and decoded as it is. Arbitrary input rarely holds the whole
// lines the decoding kernels take, so the input's encoding is also decoded
// after damage the input chooses (up to 8 bytes, each a 2-byte position and
// a value), and once with its CRLFs as LFs.
void CheckBase64Implementations(absl::string_view text) {
#if defined(__x86_64__)
  if (!base64_internal::CpuHasAvx2()) return;
  const auto* data = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t size = Base64EncodedSize(text.size());
  std::string scalar(size, '\0');
  std::string avx2(size, '\0');
  base64_internal::EncodeScalar(data, text.size(), scalar.data());
  base64_internal::EncodeAvx2(data, text.size(), avx2.data());
  SIGNET_FUZZ_CHECK(avx2 == scalar);
  CheckSameDecoding(text);
  if (scalar.empty()) return;
  std::string damaged = scalar;
  for (std::size_t k = 0; k < 8 && 3 * k + 2 < text.size(); ++k) {
    const std::size_t at = (std::size_t{data[3 * k]} | std::size_t{data[3 * k + 1]} << 8) % size;
    damaged[at] = static_cast<char>(data[3 * k + 2]);
  }
  CheckSameDecoding(damaged);
  CheckSameDecoding(absl::StrReplaceAll(damaged, {{"\r\n", "\n"}}));
#else
  static_cast<void>(text);
#endif
}

void CheckToCrlf(absl::string_view text) {
  const std::string crlf = ToCrlf(text);
  std::size_t bare_lf = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) ++bare_lf;
  }
  SIGNET_FUZZ_CHECK(crlf.size() == text.size() + bare_lf);
  for (std::size_t i = 0; i < crlf.size(); ++i) {
    if (crlf[i] == '\n') SIGNET_FUZZ_CHECK(i > 0 && crlf[i - 1] == '\r');
  }
  SIGNET_FUZZ_CHECK(ToCrlf(crlf) == crlf);
}

// The header fields tile the header block, which starts the input; the body
// ends it.
void CheckEntity(const MimeEntity& entity, absl::string_view text, const Limits& limits) {
  SIGNET_FUZZ_CHECK(entity.header_block.data() == text.data());
  SIGNET_FUZZ_CHECK(Within(entity.header_block, text));
  SIGNET_FUZZ_CHECK(Within(entity.body, text));
  SIGNET_FUZZ_CHECK(entity.body.data() + entity.body.size() == text.data() + text.size());
  SIGNET_FUZZ_CHECK(entity.headers.size() <= static_cast<std::size_t>(limits.max_header_fields));
  const char* next = text.data();
  for (const HeaderField& field : entity.headers) {
    SIGNET_FUZZ_CHECK(field.raw.data() == next);
    SIGNET_FUZZ_CHECK(Within(field.raw, entity.header_block));
    SIGNET_FUZZ_CHECK(!field.name.empty());
    SIGNET_FUZZ_CHECK(field.name.find(':') == std::string::npos);
    SIGNET_FUZZ_CHECK(absl::StartsWith(field.raw, field.name));
    SIGNET_FUZZ_CHECK(field.value.size() < field.raw.size());
    SIGNET_FUZZ_CHECK(entity.Find(field.name) != nullptr);
    next = field.raw.data() + field.raw.size();
  }
  SIGNET_FUZZ_CHECK(next == entity.header_block.data() + entity.header_block.size());
}

// Preamble, parts and epilogue are in order inside the body, and each part
// is followed by a line break and the delimiter (or is empty, right before
// it).
void CheckMultipart(const Multipart& multipart, absl::string_view body, absl::string_view boundary,
                    const Limits& limits) {
  SIGNET_FUZZ_CHECK(!multipart.parts.empty());
  SIGNET_FUZZ_CHECK(multipart.parts.size() <= static_cast<std::size_t>(limits.max_parts));
  SIGNET_FUZZ_CHECK(multipart.preamble.data() == body.data());
  SIGNET_FUZZ_CHECK(Within(multipart.preamble, body));
  const std::string delimiter = absl::StrCat("--", boundary);
  const char* previous_end = multipart.preamble.data() + multipart.preamble.size();
  for (absl::string_view part : multipart.parts) {
    SIGNET_FUZZ_CHECK(Within(part, body));
    SIGNET_FUZZ_CHECK(part.data() >= previous_end);
    const absl::string_view after =
        body.substr(static_cast<std::size_t>(part.data() + part.size() - body.data()));
    SIGNET_FUZZ_CHECK(absl::StartsWith(after, absl::StrCat("\r\n", delimiter)) ||
                      absl::StartsWith(after, absl::StrCat("\n", delimiter)) ||
                      (part.empty() && absl::StartsWith(after, delimiter)));
    previous_end = part.data() + part.size();
  }
  SIGNET_FUZZ_CHECK(Within(multipart.epilogue, body));
  SIGNET_FUZZ_CHECK(multipart.epilogue.data() >= previous_end);
  SIGNET_FUZZ_CHECK(multipart.epilogue.data() + multipart.epilogue.size() ==
                    body.data() + body.size());
}

void FuzzOne(absl::string_view text) {
  const Limits limits = FuzzLimits();
  CheckToCrlf(text);
  CheckBase64RoundTrip(text);
  CheckBase64Implementations(text);
  if (absl::StatusOr<std::string> decoded = Base64Decode(text); decoded.ok()) {
    CheckBase64RoundTrip(*decoded);
  } else {
    CheckError(decoded.status());
  }
  const absl::string_view first_line = text.substr(0, text.find('\n'));
  if (absl::StatusOr<ContentType> type = ParseContentType(first_line); !type.ok()) {
    CheckError(type.status());
  }

  const absl::Status structure = CheckMimeStructure(text, limits);
  if (!structure.ok()) CheckError(structure);

  absl::StatusOr<MimeEntity> entity = ParseEntity(text, limits);
  if (!entity.ok()) {
    CheckError(entity.status());
    SIGNET_FUZZ_CHECK(!structure.ok());
    return;
  }
  CheckEntity(*entity, text, limits);
  absl::StatusOr<ContentType> type = ContentTypeOf(*entity);
  if (!type.ok()) {
    CheckError(type.status());
    SIGNET_FUZZ_CHECK(!structure.ok());
    return;
  }
  SIGNET_FUZZ_CHECK(!type->type.empty() && !type->subtype.empty());
  SIGNET_FUZZ_CHECK(type->Is(type->type, type->subtype));
  if (type->type == "multipart") {
    const std::optional<std::string> boundary = type->Param("boundary");
    if (!boundary.has_value()) {
      SIGNET_FUZZ_CHECK(!structure.ok());
      return;
    }
    absl::StatusOr<Multipart> multipart = SplitMultipart(entity->body, *boundary, limits);
    if (!multipart.ok()) {
      CheckError(multipart.status());
      SIGNET_FUZZ_CHECK(!structure.ok());
      return;
    }
    CheckMultipart(*multipart, entity->body, *boundary, limits);
  }
  if (absl::StatusOr<std::string> decoded = Base64Decode(entity->body); decoded.ok()) {
    CheckBase64RoundTrip(*decoded);
  } else {
    CheckError(decoded.status());
  }
}

}  // namespace
}  // namespace signet::cms

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  signet::cms::FuzzOne(absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
