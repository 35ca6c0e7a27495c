// signet-token keys: the private keys on one token and the policy's verdict
// on each.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/command_options.h"
#include "common/status_macros.h"
#include "tokens/ck_status.h"
#include "tokens/keys/key_locator.h"
#include "tokens/keys/key_policy.h"
#include "tokens/keys/token_key.h"
#include "tokens/objects.h"
#include "tokens/token.h"
#include "tokens/tool/commands.h"
#include "tokens/tool/token_target.h"
#include "tokens/tool/token_text.h"
#include "tokens/tool/tool_status.h"

namespace signet::tool {
namespace {

constexpr char kKeysUsage[] =
    R"(usage: signet-token keys --module PATH --token LABEL|URI --pin-source SPEC

Lists the private keys on a token: label, id, type and size, usage, whether a
certificate is stored with the key, and whether Signet's default key policy
accepts the key (a refused key is listed with the reason).

)";

// FindObjects reads the handles in one call; a token with more private keys
// than this is listed in part, and the listing says so.
constexpr CK_ULONG kMaxKeys = 100000;

struct ListedKey {
  std::string label;
  std::string id;
  std::optional<KeySelector> selector;
  absl::StatusOr<LocatedKey> located = absl::UnknownError("not looked up");
  absl::Status policy;
};

bool IsFault(const absl::Status& status) {
  std::optional<CK_RV> rv = CkRvOf(status);
  return rv.has_value() && IsTokenFault(*rv);
}

// Every private key's label and id and what the token says about it, read on
// one session.
absl::StatusOr<std::vector<ListedKey>> FindPrivateKeys(Token& token, absl::Time deadline,
                                                       bool& truncated) {
  ASSIGN_OR_RETURN(SessionLease lease, token.Acquire(deadline));
  const Module& module = token.module();
  AttributeTemplate search;
  search.Add(CKA_CLASS, CKO_PRIVATE_KEY);
  absl::StatusOr<std::vector<CK_OBJECT_HANDLE>> handles =
      FindObjects(module, lease.handle(), search, kMaxKeys);
  if (!handles.ok()) return token.ReportFailure(lease, handles.status());
  truncated = handles->size() >= kMaxKeys;

  std::vector<ListedKey> keys;
  for (CK_OBJECT_HANDLE handle : *handles) {
    absl::StatusOr<AttributeValues> values =
        ReadAttributes(module, lease.handle(), handle, {CKA_LABEL, CKA_ID});
    if (!values.ok()) return token.ReportFailure(lease, values.status());
    ListedKey key;
    if (auto it = values->find(CKA_LABEL); it != values->end()) key.label = it->second;
    if (auto it = values->find(CKA_ID); it != values->end()) key.id = it->second;
    if (key.label.empty() && key.id.empty()) {
      key.located = absl::FailedPreconditionError(
          "the key has neither a CKA_ID nor a CKA_LABEL, so no configuration can select it");
    } else {
      // Both, where there are both: two keys that share an id are still
      // told apart by their labels.
      KeySelector selector;
      if (!key.id.empty()) selector.id = key.id;
      if (!key.label.empty()) selector.label = key.label;
      key.selector = selector;
      key.located = LocateKey(module, lease.handle(), selector);
      if (!key.located.ok() && IsFault(key.located.status())) {
        return token.ReportFailure(lease, key.located.status());
      }
    }
    keys.push_back(std::move(key));
  }
  std::sort(keys.begin(), keys.end(), [](const ListedKey& a, const ListedKey& b) {
    return std::tie(a.label, a.id) < std::tie(b.label, b.id);
  });
  return keys;
}

absl::Status ListKeys(const std::shared_ptr<Token>& token) {
  const absl::Time deadline = absl::Now() + kCommandTimeout;
  bool truncated = false;
  ASSIGN_OR_RETURN(std::vector<ListedKey> keys, FindPrivateKeys(*token, deadline, truncated));
  // Loaded as the daemon loads a configured key, for the verdict alone.
  for (ListedKey& key : keys) {
    if (!key.selector) {
      key.policy = key.located.status();
      continue;
    }
    key.policy = TokenKey::Load(token, *key.selector, KeyPolicy{}, deadline).status();
  }

  const TokenDescription description = token->Status().description;
  absl::PrintF("token %s: serial %s, slot %d, %d private key%s%s\n", Printable(description.label),
               Printable(description.serial), description.slot, keys.size(),
               keys.size() == 1 ? "" : "s",
               truncated ? absl::StrCat(" (only the first ", kMaxKeys, " are listed)") : "");
  for (const ListedKey& key : keys) {
    absl::PrintF("\n%s\n  id: %s\n", KeyHeading(key.label), HexId(key.id));
    if (key.located.ok()) {
      absl::PrintF("  type: %s\n  usage: %s\n  certificate: %s\n",
                   TypeText(key.located->type, key.located->public_key.get()),
                   UsageText(key.located->attributes),
                   CertificateText(key.located->certificate.get()));
    } else {
      absl::PrintF("  details: unavailable (%s)\n", key.located.status().message());
    }
    if (key.policy.ok()) {
      absl::PrintF("  policy: ok\n");
    } else {
      absl::PrintF("  policy: refused (%s)\n", key.policy.message());
    }
  }
  return absl::OkStatus();
}

}  // namespace

int RunKeys(const std::vector<std::string>& args) {
  absl::StatusOr<ParsedOptions> options =
      ParseOptions(args, {.command = "keys", .options = kTokenOptions});
  if (!options.ok()) return UsageError("keys", options.status().message());
  if (options->help()) {
    absl::PrintF("%s%s", kKeysUsage, kTokenOptionsHelp);
    return kExitOk;
  }
  absl::StatusOr<TokenTarget> target = ParseTokenTarget(*options);
  if (!target.ok()) return UsageError("keys", target.status().message());
  ConfigureLogging(options->Has("verbose"));

  absl::StatusOr<std::shared_ptr<Token>> token = OpenToken(*target);
  if (!token.ok()) return Failed(token.status());
  if (absl::Status listed = ListKeys(*token); !listed.ok()) return TokenFailed(**token, listed);
  return kExitOk;
}

}  // namespace signet::tool
