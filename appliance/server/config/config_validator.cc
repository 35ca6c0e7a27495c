#include "appliance/server/config/config_validator.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "appliance/cms/limits.h"
#include "appliance/http/listen_address.h"
#include "appliance/server/config/directory_config.h"
#include "appliance/server/config/token_profiles.h"
#include "appliance/server/config/validation_config.h"
#include "tokens/pkcs11_uri.h"

namespace signet::server {
namespace {

using config::v1::Audit;
using config::v1::Caller;
using config::v1::Config;
using config::v1::Grant;
using config::v1::Key;
using config::v1::KeyPurpose;
using config::v1::Limits;
using config::v1::Listener;
using config::v1::Operation;
using config::v1::PinSource;
using config::v1::TcpListener;
using config::v1::TimestampAuthority;
using config::v1::Token;
using config::v1::UnixListener;

// sizeof(sockaddr_un::sun_path) on Linux, with its terminating NUL.
constexpr std::size_t kMaxUnixSocketPath = 107;
constexpr std::size_t kMaxNameLength = 64;
// Problems reported at most; a config that is wrong everywhere (the wrong
// file) should not print thousands of lines.
constexpr std::size_t kMaxProblems = 50;

constexpr char kAllKeys[] = "*";

class Problems {
 public:
  void Add(absl::string_view where, absl::string_view what) {
    lines_.push_back(absl::StrCat(where, ": ", what));
  }

  absl::Status ToStatus() const {
    if (lines_.empty()) return absl::OkStatus();
    if (lines_.size() <= kMaxProblems) {
      return absl::InvalidArgumentError(absl::StrJoin(lines_, "\n"));
    }
    std::vector<std::string> shown(lines_.begin(), lines_.begin() + kMaxProblems);
    shown.push_back(absl::StrCat("... and ", lines_.size() - kMaxProblems, " more problems"));
    return absl::InvalidArgumentError(absl::StrJoin(shown, "\n"));
  }

 private:
  std::vector<std::string> lines_;
};

// A config value in a message: quoted, escaped (a name may hold control
// characters that would forge log lines) and cut short.
std::string Quote(absl::string_view value) {
  constexpr std::size_t kShown = 80;
  if (value.size() <= kShown) return absl::StrCat("\"", absl::CHexEscape(value), "\"");
  return absl::StrCat("\"", absl::CHexEscape(value.substr(0, kShown)), "\"...");
}

// "keys[2] \"bank-signing\"", or "keys[2]" for an element without a name.
std::string Element(absl::string_view list, int index, absl::string_view name) {
  if (name.empty()) return absl::StrCat(list, "[", index, "]");
  return absl::StrCat(list, "[", index, "] ", Quote(name));
}

bool IsNameCharacter(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
}

// Names appear in API requests, errors and the audit log; a small alphabet
// keeps them unambiguous there ("*" in a grant means every key, so no key
// may be called that).
void CheckName(Problems& problems, absl::string_view where, absl::string_view name) {
  if (name.empty()) {
    problems.Add(where, "name is required");
  } else if (name.size() > kMaxNameLength ||
             !std::all_of(name.begin(), name.end(), IsNameCharacter)) {
    problems.Add(where, absl::StrCat("name ", Quote(name), " must be 1 to ", kMaxNameLength,
                                     " letters, digits, '.', '_' or '-'"));
  }
}

enum class Required { kYes, kNo };

// An absolute path. Existence is start-up's business.
void CheckPath(Problems& problems, absl::string_view where, absl::string_view field,
               absl::string_view path, Required required) {
  if (path.empty()) {
    if (required == Required::kYes) problems.Add(where, absl::StrCat(field, " is required"));
    return;
  }
  if (path.front() != '/') {
    problems.Add(where, absl::StrCat(field, " ", Quote(path), " is not an absolute path"));
  } else if (path.find('\0') != absl::string_view::npos) {
    problems.Add(where, absl::StrCat(field, " contains a NUL character"));
  }
}

// "host:port", "[v6]:port"; gRPC resolves the host.
bool IsHostPort(absl::string_view address) {
  absl::string_view host;
  absl::string_view port;
  if (!address.empty() && address.front() == '[') {
    std::size_t close = address.find(']');
    if (close == absl::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return false;
    }
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    std::size_t colon = address.rfind(':');
    if (colon == absl::string_view::npos) return false;
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (host.find(':') != absl::string_view::npos) return false;  // unbracketed IPv6
  }
  if (host.empty() || port.empty() || port.size() > 5) return false;
  for (char c : host) {
    if (!absl::ascii_isgraph(static_cast<unsigned char>(c))) return false;
  }
  int value = 0;
  for (char c : port) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
    value = value * 10 + (c - '0');
  }
  return value >= 1 && value <= 65535;
}

// --- listeners ---------------------------------------------------------------

void CheckTcp(Problems& problems, const std::string& where, const TcpListener& tcp) {
  if (tcp.address().empty()) {
    problems.Add(where, "tcp.address is required");
  } else if (!IsHostPort(tcp.address())) {
    problems.Add(where, absl::StrCat("tcp.address ", Quote(tcp.address()),
                                     " is not host:port (e.g. \"0.0.0.0:8443\", \"[::1]:8443\")"));
  }
  // Without all three there is no mutual TLS, and callers on TCP are known
  // only by their client certificate.
  CheckPath(problems, where, "tcp.certificate_file", tcp.certificate_file(), Required::kYes);
  CheckPath(problems, where, "tcp.private_key_file", tcp.private_key_file(), Required::kYes);
  if (tcp.client_ca_file().empty()) {
    problems.Add(where,
                 "tcp.client_ca_file is required: TCP callers must present a client certificate "
                 "(mTLS is mandatory)");
  } else {
    CheckPath(problems, where, "tcp.client_ca_file", tcp.client_ca_file(), Required::kYes);
  }
}

void CheckUnix(Problems& problems, const std::string& where, const UnixListener& unix_listener) {
  CheckPath(problems, where, "unix.path", unix_listener.path(), Required::kYes);
  if (unix_listener.path().size() > kMaxUnixSocketPath) {
    problems.Add(where, absl::StrCat("unix.path is longer than the ", kMaxUnixSocketPath,
                                     " bytes a socket address holds"));
  }
  if ((unix_listener.mode() & ~0777u) != 0) {
    problems.Add(where, absl::StrFormat("unix.mode 0%o has bits beyond the permissions (0777)",
                                        unix_listener.mode()));
  }
}

void CheckListeners(Problems& problems, const Config& config) {
  if (config.listeners().empty()) {
    problems.Add("listeners", "at least one listener (tcp or unix) is required");
  }
  std::map<std::string, int> addresses;
  for (int i = 0; i < config.listeners_size(); ++i) {
    const Listener& listener = config.listeners(i);
    const std::string where = Element("listeners", i, "");
    std::string address;
    switch (listener.kind_case()) {
      case Listener::kTcp:
        CheckTcp(problems, where, listener.tcp());
        address = absl::StrCat("tcp ", listener.tcp().address());
        break;
      case Listener::kUnix:
        CheckUnix(problems, where, listener.unix());
        address = absl::StrCat("unix ", listener.unix().path());
        break;
      case Listener::KIND_NOT_SET:
        problems.Add(where, "tcp or unix is required");
        continue;
    }
    auto [it, inserted] = addresses.emplace(address, i);
    if (!inserted) {
      problems.Add(where, absl::StrCat("listens where listeners[", it->second, "] does"));
    }
  }
}

// --- tokens ------------------------------------------------------------------

bool IsEnvName(absl::string_view name) {
  if (name.empty() || absl::ascii_isdigit(static_cast<unsigned char>(name.front()))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// The value of a PIN source is never quoted: if an operator typed the PIN
// itself where its source belongs, the PIN must not reach a log.
void CheckPinSource(Problems& problems, const std::string& where, const Token& token) {
  if (!token.has_pin()) {
    problems.Add(where, "pin is required (file, env or systemd_credential)");
    return;
  }
  const PinSource& pin = token.pin();
  switch (pin.source_case()) {
    case PinSource::kFile:
      if (pin.file().empty() || pin.file().front() != '/' ||
          pin.file().find('\0') != std::string::npos) {
        problems.Add(where, "pin.file must be an absolute path (its value is not repeated here)");
      }
      break;
    case PinSource::kEnv:
      if (!IsEnvName(pin.env())) {
        problems.Add(where,
                     "pin.env must be an environment variable name: letters, digits and '_', "
                     "not starting with a digit (its value is not repeated here)");
      }
      break;
    case PinSource::kSystemdCredential: {
      const std::string& name = pin.systemd_credential();
      if (name.empty() || name == "." || name == ".." || name.size() > 255 ||
          name.find('/') != std::string::npos || name.find('\0') != std::string::npos) {
        problems.Add(where,
                     "pin.systemd_credential must be a credential name, not a path (its value is "
                     "not repeated here)");
      }
      break;
    }
    case PinSource::SOURCE_NOT_SET:
      problems.Add(where, "pin needs one of file, env or systemd_credential");
      break;
  }
}

// A pkcs11: URI here selects a token; the module and the PIN have fields of
// their own, and keys are configured under keys. Parse errors never repeat
// the URI (it could carry a PIN).
void CheckTokenUri(Problems& problems, const std::string& where, const std::string& text) {
  absl::StatusOr<Pkcs11Uri> uri = ParsePkcs11Uri(text);
  if (!uri.ok()) {
    problems.Add(where, absl::StrCat("uri: ", uri.status().message()));
    return;
  }
  for (const auto& [present, attribute, instead] :
       {std::tuple{uri->module_path.has_value(), "module-path", "use module"},
        std::tuple{uri->module_name.has_value(), "module-name", "use module"},
        std::tuple{uri->pin_source.has_value(), "pin-source", "use pin"},
        std::tuple{uri->object.has_value(), "object", "keys name their objects"},
        std::tuple{uri->id.has_value(), "id", "keys name their objects"},
        std::tuple{uri->type.has_value(), "type", "keys name their objects"},
        std::tuple{uri->library_manufacturer.has_value(), "library-manufacturer",
                   "it cannot select a token"},
        std::tuple{uri->library_description.has_value(), "library-description",
                   "it cannot select a token"},
        std::tuple{uri->library_version.has_value(), "library-version", "it cannot select a token"},
        std::tuple{uri->slot_description.has_value(), "slot-description",
                   "it cannot select a token"},
        std::tuple{uri->slot_manufacturer.has_value(), "slot-manufacturer",
                   "it cannot select a token"}}) {
    if (present) {
      problems.Add(where, absl::StrCat("uri: the attribute ", attribute, " is not allowed here (",
                                       instead, ")"));
    }
  }
  if (!uri->token && !uri->serial && !uri->manufacturer && !uri->model && !uri->slot_id) {
    problems.Add(where,
                 "uri names no token: give token=, serial=, manufacturer=, model= or slot-id=");
  }
}

void CheckSelector(Problems& problems, const std::string& where, const Token& token) {
  switch (token.selector_case()) {
    case Token::kLabel:
      if (token.label().empty()) problems.Add(where, "label is empty");
      break;
    case Token::kSerial:
      if (token.serial().empty()) problems.Add(where, "serial is empty");
      break;
    case Token::kUri:
      CheckTokenUri(problems, where, token.uri());
      break;
    case Token::SELECTOR_NOT_SET:
      problems.Add(where, "a selector is required: label, serial or uri");
      break;
  }
}

// The module and the profile. Without a module the profile's default
// stands in, as the path where the distribution puts it (no file is looked
// at here).
void CheckModule(Problems& problems, const std::string& where, const Token& token) {
  if (token.profile() != config::v1::TOKEN_PROFILE_UNSPECIFIED &&
      FindTokenProfile(token.profile()) == nullptr) {
    problems.Add(where, absl::StrCat("profile ", TokenProfileName(token.profile()), " is not ",
                                     TokenProfileNames()));
    if (token.module().empty()) return;  // no module to check
  }
  if (token.module().empty() && token.profile() == config::v1::TOKEN_PROFILE_UNSPECIFIED) {
    problems.Add(where, absl::StrCat("module is required, or a profile that names one (",
                                     TokenProfileNames(), ")"));
    return;
  }
  CheckPath(problems, where, "module", token.module(), Required::kNo);
}

// The module as written, or the first place the profile's module is
// looked for.
std::string ModuleIdentity(const Token& token) {
  if (!token.module().empty()) return token.module();
  const TokenProfileInfo* profile = FindTokenProfile(token.profile());
  if (profile == nullptr) return "";
  return ModulePathCandidates(*profile).front();
}

// What a token is, for finding two entries that mean the same token. A URI
// compares as written: entries that differ only in spelling are not caught.
std::string TokenIdentity(const Token& token) {
  const std::string module = ModuleIdentity(token);
  switch (token.selector_case()) {
    case Token::kLabel:
      return absl::StrCat(module, "\nlabel\n", token.label());
    case Token::kSerial:
      return absl::StrCat(module, "\nserial\n", token.serial());
    case Token::kUri:
      return absl::StrCat(module, "\nuri\n", token.uri());
    case Token::SELECTOR_NOT_SET:
      break;
  }
  return "";
}

// The defined tokens by name, with their profile (a number, which may be
// one the schema does not know).
using TokenTable = std::map<std::string, int, std::less<>>;

TokenTable CheckTokens(Problems& problems, const Config& config) {
  std::map<std::string, int, std::less<>> names;
  std::map<std::string, int> identities;
  for (int i = 0; i < config.tokens_size(); ++i) {
    const Token& token = config.tokens(i);
    const std::string where = Element("tokens", i, token.name());
    CheckName(problems, where, token.name());
    if (!token.name().empty()) {
      auto [it, inserted] = names.emplace(token.name(), i);
      if (!inserted) {
        problems.Add(where, absl::StrCat("name is already used by tokens[", it->second, "]"));
      }
    }
    CheckModule(problems, where, token);
    CheckSelector(problems, where, token);
    CheckPinSource(problems, where, token);
    if (token.max_in_flight() > static_cast<std::uint32_t>(kMaxInFlightLimit)) {
      problems.Add(where, absl::StrCat("max_in_flight ", token.max_in_flight(), " is more than ",
                                       kMaxInFlightLimit));
    }
    if (token.max_queue() > static_cast<std::uint32_t>(kMaxQueueLimit)) {
      problems.Add(where,
                   absl::StrCat("max_queue ", token.max_queue(), " is more than ", kMaxQueueLimit));
    }
    if (std::string identity = TokenIdentity(token); !identity.empty()) {
      auto [it, inserted] = identities.emplace(std::move(identity), i);
      if (!inserted) {
        problems.Add(where, absl::StrCat("selects the same token of the same module as tokens[",
                                         it->second, "]"));
      }
    }
  }
  TokenTable defined;
  for (const auto& [name, index] : names) defined.emplace(name, config.tokens(index).profile());
  return defined;
}

// --- keys --------------------------------------------------------------------

bool IsAddressLocalCharacter(char c) {
  // RFC 5322 atext and '.'; quoted local parts are not supported.
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::string_view("!#$%&'*+-/=?^_`{|}~.").find(c) != absl::string_view::npos;
}

// A bare addr-spec as it appears in a From header: local@domain, the domain
// in ASCII (IDNs as A-labels).
bool IsMailAddress(absl::string_view address) {
  if (address.size() > 254) return false;
  std::size_t at = address.find('@');
  if (at == absl::string_view::npos || at != address.rfind('@')) return false;
  absl::string_view local = address.substr(0, at);
  absl::string_view domain = address.substr(at + 1);
  if (local.empty() || local.size() > 64 || local.front() == '.' || local.back() == '.' ||
      !std::all_of(local.begin(), local.end(), IsAddressLocalCharacter)) {
    return false;
  }
  if (domain.empty()) return false;
  for (absl::string_view label : absl::StrSplit(domain, '.')) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
  }
  return true;
}

bool IsHex(absl::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return absl::ascii_isxdigit(static_cast<unsigned char>(c)); });
}

struct DefinedKey {
  int index;
  KeyPurpose purpose;
  bool sender_bound = false;
};
using KeyTable = std::map<std::string, DefinedKey, std::less<>>;

void CheckSenderAddresses(Problems& problems, const std::string& where, const Key& key) {
  if (key.sender_addresses().empty()) return;
  if (key.purpose() != config::v1::SIGN) {
    problems.Add(where, "sender_addresses are only for SIGN keys");
  }
  std::set<std::string> seen;
  for (const std::string& address : key.sender_addresses()) {
    if (!IsMailAddress(address)) {
      problems.Add(where, absl::StrCat("sender address ", Quote(address),
                                       " is not an address like statements@bank.example"));
    } else if (const std::size_t at = address.rfind('@');
               // The local part is compared as written, the domain ignoring
               // case (Authorizer::CheckSender).
               !seen.insert(absl::StrCat(address.substr(0, at), "@",
                                         absl::AsciiStrToLower(address.substr(at + 1))))
                    .second) {
      problems.Add(where, absl::StrCat("sender address ", Quote(address), " is listed twice"));
    }
  }
}

// A key named by its PIV slot: the slot must be one, and its token must have
// a PIV profile, whose module decides the CKA_ID. Returns the object's
// identity ("id\n<hex>"), or "" when that cannot be known.
std::string CheckPivSlot(Problems& problems, const std::string& where, const Key& key,
                         const TokenTable& tokens) {
  const std::optional<std::uint8_t> slot = ParsePivSlot(key.piv_slot());
  if (!slot) {
    problems.Add(where, absl::StrCat("piv_slot ", Quote(key.piv_slot()), " is not a PIV key slot (",
                                     kPivSlotNames, ")"));
  }
  auto token = tokens.find(key.token());
  if (token == tokens.end()) return "";  // reported already
  const TokenProfileInfo* profile = FindTokenProfile(token->second);
  if (profile == nullptr && token->second != config::v1::TOKEN_PROFILE_UNSPECIFIED) {
    return "";  // an unknown profile is reported under tokens
  }
  if (profile == nullptr || !profile->piv) {
    problems.Add(
        where,
        absl::StrCat("piv_slot needs a token with a PIV profile (",
                     TokenProfileNames(/*piv_only=*/true), "); token ", Quote(key.token()),
                     profile == nullptr ? " has no profile"
                                        : absl::StrCat(" is ", TokenProfileName(token->second))));
    return "";
  }
  if (!slot) return "";
  std::optional<std::string> id = PivSlotKeyId(profile->profile, *slot);
  if (!id) return "";
  return absl::StrCat("id\n", absl::BytesToHexString(*id));
}

// keys[].timestamps: what the text shows; the TSA trust anchors are read at
// start.
bool IsDottedOid(absl::string_view text);
void CheckKeyTimestamps(Problems& problems, const std::string& where, const config::v1::Key& key) {
  if (!key.has_timestamps()) return;
  const config::v1::SignatureTimestamps& stamps = key.timestamps();
  if (key.purpose() == config::v1::DECRYPT) {
    problems.Add(where, "timestamps: a DECRYPT key makes no signatures to stamp");
  }
  if (stamps.tsa_urls().empty()) problems.Add(where, "timestamps: tsa_urls is required");
  for (int i = 0; i < stamps.tsa_urls_size(); ++i) {
    const std::string& url = stamps.tsa_urls(i);
    if (!absl::StartsWithIgnoreCase(url, "http://") || url.size() <= 7) {
      problems.Add(where, absl::StrCat("timestamps: tsa_urls[", i, "] ", Quote(url),
                                       " is not an http: URL (a TSA's reply is signed; only "
                                       "http: is asked)"));
    }
  }
  if (!stamps.policy().empty() && !IsDottedOid(stamps.policy())) {
    problems.Add(
        where, absl::StrCat("timestamps: policy ", Quote(stamps.policy()), " is not a dotted OID"));
  }
  if (stamps.timeout_seconds() > 60) {
    problems.Add(where, absl::StrCat("timestamps: timeout_seconds ", stamps.timeout_seconds(),
                                     " is more than 60"));
  }
  if (!config::v1::TimestampMode_IsValid(stamps.mode())) {
    problems.Add(where, absl::StrCat("timestamps: mode ", stamps.mode(),
                                     " is not TIMESTAMP_REQUIRED or TIMESTAMP_BEST_EFFORT"));
  }
  CheckPath(problems, where, "timestamps.tsa_trust_anchors_file", stamps.tsa_trust_anchors_file(),
            Required::kYes);
}

KeyTable CheckKeys(Problems& problems, const Config& config, const TokenTable& tokens) {
  KeyTable keys;
  std::map<std::string, int> objects;
  for (int i = 0; i < config.keys_size(); ++i) {
    const Key& key = config.keys(i);
    const std::string where = Element("keys", i, key.name());
    CheckName(problems, where, key.name());
    if (!key.name().empty()) {
      auto [it, inserted] =
          keys.emplace(key.name(), DefinedKey{i, key.purpose(), !key.sender_addresses().empty()});
      if (!inserted) {
        problems.Add(where, absl::StrCat("name is already used by keys[", it->second.index, "]"));
      }
    }
    if (key.token().empty()) {
      problems.Add(where, "token is required");
    } else if (!tokens.contains(key.token())) {
      problems.Add(where, absl::StrCat("token ", Quote(key.token()), " is not defined"));
    }

    std::string object;
    switch (key.object_case()) {
      case Key::kLabel:
        if (key.label().empty()) problems.Add(where, "label is empty");
        object = absl::StrCat("label\n", key.label());
        break;
      case Key::kIdHex:
        if (key.id_hex().empty() || key.id_hex().size() % 2 != 0 || !IsHex(key.id_hex())) {
          problems.Add(where, absl::StrCat("id_hex ", Quote(key.id_hex()),
                                           " is not an even number of hex digits"));
        }
        object = absl::StrCat("id\n", absl::AsciiStrToLower(key.id_hex()));
        break;
      case Key::kPivSlot:
        object = CheckPivSlot(problems, where, key, tokens);
        break;
      case Key::OBJECT_NOT_SET:
        problems.Add(where, "label, id_hex or piv_slot is required");
        break;
    }
    // One token object under two names would be a signing key and a
    // decryption key at once, or escape a sender binding.
    if (!object.empty() && !key.token().empty()) {
      auto [it, inserted] = objects.emplace(absl::StrCat(key.token(), "\n", object), i);
      if (!inserted) {
        problems.Add(where, absl::StrCat("names the same token object as keys[", it->second, "] ",
                                         Quote(config.keys(it->second).name())));
      }
    }

    if (key.purpose() == config::v1::KEY_PURPOSE_UNSPECIFIED) {
      problems.Add(where, "purpose is required (SIGN or DECRYPT)");
    } else if (!config::v1::KeyPurpose_IsValid(key.purpose())) {
      problems.Add(where, absl::StrCat("purpose ", key.purpose(), " is not SIGN or DECRYPT"));
    }
    CheckPath(problems, where, "certificate_chain_file", key.certificate_chain_file(),
              Required::kNo);
    CheckSenderAddresses(problems, where, key);
    CheckKeyTimestamps(problems, where, key);
  }
  return keys;
}

// --- callers -----------------------------------------------------------------

bool UsesKey(Operation operation) {
  switch (operation) {
    case config::v1::SIGN_MAIL:
    case config::v1::SIGN_DIGEST:
    case config::v1::DECRYPT_MAIL:
    case config::v1::READ_KEYS:
    case config::v1::ADMINISTER_KEYS:
      return true;
    default:
      return false;
  }
}

bool IsSigning(Operation operation) {
  return operation == config::v1::SIGN_MAIL || operation == config::v1::SIGN_DIGEST;
}

// The purpose a key must have for `operation`; UNSPECIFIED when any will do.
KeyPurpose PurposeFor(Operation operation) {
  if (IsSigning(operation)) return config::v1::SIGN;
  if (operation == config::v1::DECRYPT_MAIL) return config::v1::DECRYPT;
  return config::v1::KEY_PURPOSE_UNSPECIFIED;
}

std::string OperationName(int operation) {
  if (config::v1::Operation_IsValid(operation)) {
    return config::v1::Operation_Name(static_cast<Operation>(operation));
  }
  return absl::StrCat(operation);
}

void CheckGrant(Problems& problems, const std::string& where, const Grant& grant,
                const KeyTable& keys, const std::string& checkpoint_key) {
  if (grant.operations().empty()) problems.Add(where, "operations are required");
  std::set<int> operations;
  for (int operation : grant.operations()) {
    if (operation == config::v1::OPERATION_UNSPECIFIED) {
      problems.Add(where, "OPERATION_UNSPECIFIED is not an operation");
    } else if (!config::v1::Operation_IsValid(operation)) {
      problems.Add(where, absl::StrCat("operation ", operation, " is not defined"));
    } else if (!operations.insert(operation).second) {
      problems.Add(where, absl::StrCat(OperationName(operation), " is listed twice"));
    }
  }

  bool all_keys = false;
  std::set<std::string> listed;
  for (const std::string& name : grant.keys()) {
    if (name == kAllKeys) {
      all_keys = true;
    } else if (!keys.contains(name)) {
      problems.Add(where, absl::StrCat("key ", Quote(name), " is not defined"));
    }
    if (!listed.insert(name).second) {
      problems.Add(where, absl::StrCat("key ", Quote(name), " is listed twice"));
    }
  }
  if (all_keys && grant.keys_size() > 1) {
    problems.Add(where, "\"*\" already means every key; list it alone");
  }

  for (int number : operations) {
    const Operation operation = static_cast<Operation>(number);
    if (!UsesKey(operation)) continue;
    if (grant.keys().empty()) {
      problems.Add(where, absl::StrCat(OperationName(operation),
                                       " needs keys: name them, or \"*\" for every key"));
      continue;
    }
    // "*" covers the keys the operation suits; named keys must all suit it.
    const KeyPurpose needed = PurposeFor(operation);
    if (needed != config::v1::KEY_PURPOSE_UNSPECIFIED) {
      for (const std::string& name : grant.keys()) {
        auto key = keys.find(name);
        if (key == keys.end() || key->second.purpose == needed ||
            key->second.purpose == config::v1::KEY_PURPOSE_UNSPECIFIED ||
            !config::v1::KeyPurpose_IsValid(key->second.purpose)) {
          continue;  // keys without a (known) purpose are reported already
        }
        problems.Add(
            where, absl::StrCat(OperationName(operation), " on key ", Quote(name), ", which is a ",
                                KeyPurpose_Name(key->second.purpose), " key"));
      }
    }
    // A digest does not show the mail's From, so a sender-bound key signing
    // digests would sign for anyone. ("*" is refused at run time instead.)
    if (operation == config::v1::SIGN_DIGEST) {
      for (const std::string& name : grant.keys()) {
        auto key = keys.find(name);
        if (key != keys.end() && key->second.sender_bound) {
          problems.Add(where, absl::StrCat("SIGN_DIGEST on key ", Quote(name),
                                           ", which is bound to sender_addresses that a digest "
                                           "cannot show"));
        }
      }
    }
    // Whoever may sign arbitrary content with the audit key can forge the
    // signed checkpoints that make the audit log tamper-evident.
    if (IsSigning(operation) && !checkpoint_key.empty() &&
        (all_keys || listed.contains(checkpoint_key))) {
      problems.Add(where, absl::StrCat(OperationName(operation),
                                       " covers the audit checkpoint key ", Quote(checkpoint_key),
                                       ", which would let the caller forge audit checkpoints"));
    }
  }
}

// Identities compare as written; see docs/operations.md on certificate
// subjects.
std::string IdentityKey(const Caller& caller) {
  switch (caller.identity_case()) {
    case Caller::kCertificateSubject:
      return absl::StrCat("subject\n", caller.certificate_subject());
    case Caller::kCertificateSan:
      return absl::StrCat("san\n", absl::AsciiStrToLower(caller.certificate_san()));
    case Caller::kUnixUid:
      return absl::StrCat("uid\n", caller.unix_uid());
    case Caller::IDENTITY_NOT_SET:
      break;
  }
  return "";
}

void CheckCallers(Problems& problems, const Config& config, const KeyTable& keys) {
  std::map<std::string, int, std::less<>> names;
  std::map<std::string, int> identities;
  // Only a defined signing key can be the checkpoint key (reported under
  // audit otherwise).
  std::string checkpoint_key;
  if (auto key = keys.find(config.audit().checkpoint_key());
      key != keys.end() && key->second.purpose == config::v1::SIGN) {
    checkpoint_key = key->first;
  }
  for (int i = 0; i < config.callers_size(); ++i) {
    const Caller& caller = config.callers(i);
    const std::string where = Element("callers", i, caller.name());
    CheckName(problems, where, caller.name());
    if (!caller.name().empty()) {
      auto [it, inserted] = names.emplace(caller.name(), i);
      if (!inserted) {
        problems.Add(where, absl::StrCat("name is already used by callers[", it->second, "]"));
      }
    }
    switch (caller.identity_case()) {
      case Caller::kCertificateSubject:
        if (caller.certificate_subject().find('=') == std::string::npos) {
          problems.Add(where,
                       absl::StrCat("certificate_subject ", Quote(caller.certificate_subject()),
                                    " is not an RFC 4514 name like \"CN=mx1,O=Bank\""));
        }
        break;
      case Caller::kCertificateSan:
        if (caller.certificate_san().empty()) problems.Add(where, "certificate_san is empty");
        break;
      case Caller::kUnixUid:
        break;
      case Caller::IDENTITY_NOT_SET:
        problems.Add(where,
                     "an identity is required: certificate_subject, certificate_san or unix_uid");
        break;
    }
    if (std::string identity = IdentityKey(caller); !identity.empty()) {
      auto [it, inserted] = identities.emplace(std::move(identity), i);
      if (!inserted) {
        problems.Add(where, absl::StrCat("has the same identity as callers[", it->second, "] ",
                                         Quote(config.callers(it->second).name())));
      }
    }
    for (int j = 0; j < caller.grants_size(); ++j) {
      CheckGrant(problems, absl::StrCat(where, ": grants[", j, "]"), caller.grants(j), keys,
                 checkpoint_key);
    }
    // A policy that can never apply reads as protection that is not there.
    if (caller.verify_require_sender_match() &&
        std::none_of(caller.grants().begin(), caller.grants().end(), [](const Grant& grant) {
          return std::find(grant.operations().begin(), grant.operations().end(),
                           config::v1::VERIFY_MAIL) != grant.operations().end();
        })) {
      problems.Add(where, "verify_require_sender_match without a VERIFY_MAIL grant does nothing");
    }
    const bool encrypts =
        std::any_of(caller.grants().begin(), caller.grants().end(), [](const Grant& grant) {
          return std::find(grant.operations().begin(), grant.operations().end(),
                           config::v1::ENCRYPT_MAIL) != grant.operations().end();
        });
    if (caller.encrypt_skip_recipient_validation() && !encrypts) {
      problems.Add(where,
                   "encrypt_skip_recipient_validation without an ENCRYPT_MAIL grant does nothing");
    }
    // Without anchors every recipient would be refused: a config whose
    // encryption can never work is told at start, not at the first mail.
    if (encrypts && !caller.encrypt_skip_recipient_validation() &&
        config.trust_anchors_file().empty() &&
        config.validation().recipient_trust_anchors_file().empty()) {
      problems.Add(where,
                   "an ENCRYPT_MAIL grant needs recipient trust anchors "
                   "(validation.recipient_trust_anchors_file or trust_anchors_file): recipient "
                   "certificates are validated before encryption, and without anchors every one "
                   "is refused");
    }
  }
}

// --- limits and audit --------------------------------------------------------

void CheckLimits(Problems& problems, const Limits& limits) {
  if (limits.max_message_bytes() > kMaxMessageBytesLimit) {
    problems.Add("limits", absl::StrCat("max_message_bytes ", limits.max_message_bytes(),
                                        " is more than ", kMaxMessageBytesLimit, " (1 GiB)"));
  }
  if (limits.max_mime_depth() > static_cast<std::uint32_t>(kMaxMimeDepthLimit)) {
    problems.Add("limits", absl::StrCat("max_mime_depth ", limits.max_mime_depth(),
                                        " is more than ", kMaxMimeDepthLimit));
  }
  if (limits.max_asn1_depth() > static_cast<std::uint32_t>(kMaxAsn1DepthLimit)) {
    problems.Add("limits", absl::StrCat("max_asn1_depth ", limits.max_asn1_depth(),
                                        " is more than ", kMaxAsn1DepthLimit));
  }
  const double rate = limits.requests_per_second();
  if (!std::isfinite(rate) || rate < 0 || rate > kMaxRequestsPerSecond) {
    problems.Add("limits", absl::StrCat("requests_per_second must be between 0 (unlimited) and ",
                                        kMaxRequestsPerSecond));
  } else if (rate > 0 && limits.burst() == 0) {
    problems.Add("limits",
                 "burst is required with requests_per_second: the requests a caller may make at "
                 "once (at least 1)");
  } else if (rate == 0 && limits.burst() != 0) {
    problems.Add("limits", "burst has no effect without requests_per_second");
  }
  if (limits.burst() > kMaxBurst) {
    problems.Add("limits", absl::StrCat("burst ", limits.burst(), " is more than ", kMaxBurst));
  }
  // A budget smaller than the largest mail would refuse that mail forever.
  const std::uint64_t max_message =
      limits.max_message_bytes() != 0 ? std::min(limits.max_message_bytes(), kMaxMessageBytesLimit)
                                      : kDefaultMaxMessageBytes;
  if (limits.max_buffered_bytes() != 0 && limits.max_buffered_bytes() < max_message) {
    problems.Add("limits", absl::StrCat("max_buffered_bytes ", limits.max_buffered_bytes(),
                                        " is less than max_message_bytes (", max_message,
                                        "): a mail of the largest size could never be taken"));
  }
  if (limits.max_caller_buffered_bytes() != 0) {
    if (limits.max_caller_buffered_bytes() < max_message) {
      problems.Add("limits",
                   absl::StrCat("max_caller_buffered_bytes ", limits.max_caller_buffered_bytes(),
                                " is less than max_message_bytes (", max_message,
                                "): a mail of the largest size could never be taken"));
    } else if (limits.max_buffered_bytes() != 0 &&
               limits.max_caller_buffered_bytes() > limits.max_buffered_bytes()) {
      problems.Add(
          "limits",
          absl::StrCat("max_caller_buffered_bytes ", limits.max_caller_buffered_bytes(),
                       " is more than max_buffered_bytes (", limits.max_buffered_bytes(), ")"));
    }
  }
  if (limits.upload_idle_timeout_seconds() > kMaxUploadIdleTimeoutSeconds) {
    problems.Add("limits",
                 absl::StrCat("upload_idle_timeout_seconds ", limits.upload_idle_timeout_seconds(),
                              " is more than ", kMaxUploadIdleTimeoutSeconds));
  }
  if (limits.max_streams_per_connection() > kMaxStreamsPerConnectionLimit) {
    problems.Add("limits",
                 absl::StrCat("max_streams_per_connection ", limits.max_streams_per_connection(),
                              " is more than ", kMaxStreamsPerConnectionLimit));
  }
  if (limits.grpc_memory_bytes() != 0 && limits.grpc_memory_bytes() < kMinGrpcMemoryBytes) {
    problems.Add("limits", absl::StrCat("grpc_memory_bytes ", limits.grpc_memory_bytes(),
                                        " is less than ", kMinGrpcMemoryBytes, " (16 MiB)"));
  }
  if (limits.shutdown_grace_seconds() > kMaxShutdownGraceSeconds) {
    problems.Add("limits", absl::StrCat("shutdown_grace_seconds ", limits.shutdown_grace_seconds(),
                                        " is more than ", kMaxShutdownGraceSeconds));
  }
}

void CheckAudit(Problems& problems, const Config& config, const KeyTable& keys) {
  const Audit& audit = config.audit();
  if (audit.path().empty()) {
    if (!config.keys().empty()) {
      problems.Add("audit",
                   "path is required when keys are configured: every key operation is "
                   "recorded, and none runs without the audit log");
    }
  } else {
    CheckPath(problems, "audit", "path", audit.path(), Required::kYes);
  }
  if (!audit.checkpoint_key().empty()) {
    auto key = keys.find(audit.checkpoint_key());
    if (key == keys.end()) {
      problems.Add("audit", absl::StrCat("checkpoint_key ", Quote(audit.checkpoint_key()),
                                         " is not defined"));
    } else if (key->second.purpose != config::v1::SIGN) {
      problems.Add("audit", absl::StrCat("checkpoint_key ", Quote(audit.checkpoint_key()),
                                         " is not a SIGN key"));
    }
  } else if (!config.keys().empty()) {
    // signetd signs the log's checkpoints with this key from the moment it
    // opens the log; without one it cannot open it, and no key operation runs.
    problems.Add("audit",
                 "checkpoint_key is required when keys are configured: the audit log's "
                 "checkpoints are signed with it (a SIGN key no caller may sign with)");
  } else {
    if (audit.checkpoint_interval() != 0) {
      problems.Add("audit", "checkpoint_interval has no effect without checkpoint_key");
    }
    if (audit.group_commit_window_microseconds() != 0) {
      problems.Add("audit", "group_commit_window_microseconds has no effect without keys");
    }
  }
  if (audit.checkpoint_interval() > kMaxCheckpointInterval) {
    problems.Add("audit", absl::StrCat("checkpoint_interval ", audit.checkpoint_interval(),
                                       " is more than ", kMaxCheckpointInterval));
  }
  if (audit.group_commit_window_microseconds() > kMaxGroupCommitWindowMicroseconds) {
    problems.Add("audit", absl::StrCat("group_commit_window_microseconds ",
                                       audit.group_commit_window_microseconds(), " is more than ",
                                       kMaxGroupCommitWindowMicroseconds, " (10 ms)"));
  }
}

// --- timestamp_authority -------------------------------------------------

// "1.3.6.1.4.1.99999.1": at least two arcs, digits only, the first arc 0..2
// (X.660). OpenSSL's OBJ_txt2obj would also take names, which a TSA policy
// is not.
bool IsDottedOid(absl::string_view text) {
  std::vector<absl::string_view> arcs = absl::StrSplit(text, '.');
  if (arcs.size() < 2) return false;
  for (absl::string_view arc : arcs) {
    if (arc.empty() || !std::all_of(arc.begin(), arc.end(), [](char c) {
          return absl::ascii_isdigit(static_cast<unsigned char>(c));
        })) {
      return false;
    }
    if (arc.size() > 1 && arc.front() == '0') return false;
  }
  return arcs[0] == "0" || arcs[0] == "1" || arcs[0] == "2";
}

// The key and its certificate's timeStamping usage are checked at start,
// when the certificate is known; here what the text alone shows.
void CheckTimestampAuthority(Problems& problems, const Config& config, const KeyTable& keys) {
  if (!config.has_timestamp_authority()) return;
  const TimestampAuthority& tsa = config.timestamp_authority();
  constexpr absl::string_view kWhere = "timestamp_authority";
  if (tsa.key().empty()) {
    problems.Add(kWhere,
                 "key is required (a SIGN key whose certificate has the critical "
                 "extended key usage timeStamping)");
  } else if (auto key = keys.find(tsa.key()); key == keys.end()) {
    problems.Add(kWhere, absl::StrCat("key ", Quote(tsa.key()), " is not defined"));
  } else if (key->second.purpose != config::v1::SIGN) {
    problems.Add(kWhere, absl::StrCat("key ", Quote(tsa.key()), " is not a SIGN key"));
  } else if (tsa.key() == config.audit().checkpoint_key()) {
    // One key, one job: the audit key signs checkpoints only.
    problems.Add(kWhere, absl::StrCat("key ", Quote(tsa.key()),
                                      " is the audit checkpoint key, which signs nothing else"));
  }
  if (!tsa.http_address().empty()) {
    if (absl::StatusOr<http::ListenAddress> address = http::ParseListenAddress(tsa.http_address());
        !address.ok()) {
      problems.Add(kWhere, absl::StrCat("http_address ", address.status().message()));
    }
  }
  if (tsa.policies().empty()) {
    problems.Add(kWhere,
                 "policies are required: at least one policy OID (the first is the "
                 "default)");
  }
  std::set<std::string> policies;
  for (int i = 0; i < tsa.policies_size(); ++i) {
    const std::string& policy = tsa.policies(i);
    if (!IsDottedOid(policy)) {
      problems.Add(kWhere, absl::StrCat("policies[", i, "] ", Quote(policy),
                                        " is not a dotted OID (\"1.3.6.1.4.1.99999.1\")"));
    } else if (!policies.insert(policy).second) {
      problems.Add(kWhere, absl::StrCat("policies[", i, "] ", Quote(policy), " is listed twice"));
    }
  }
  std::set<std::string> digests;
  for (int i = 0; i < tsa.digests_size(); ++i) {
    const std::string& digest = tsa.digests(i);
    if (digest != "sha256" && digest != "sha384" && digest != "sha512") {
      problems.Add(kWhere, absl::StrCat("digests[", i, "] ", Quote(digest),
                                        " is not sha256, sha384 or sha512"));
    } else if (!digests.insert(digest).second) {
      problems.Add(kWhere, absl::StrCat("digests[", i, "] ", Quote(digest), " is listed twice"));
    }
  }
  if (tsa.accuracy_millis() >= 1000) {
    problems.Add(kWhere, absl::StrCat("accuracy_millis ", tsa.accuracy_millis(),
                                      " is not below 1000 (use accuracy_seconds)"));
  }
  // OpenSSL keeps accuracy in an int.
  if (tsa.accuracy_seconds() > static_cast<uint32_t>(std::numeric_limits<int>::max())) {
    problems.Add(kWhere,
                 absl::StrCat("accuracy_seconds ", tsa.accuracy_seconds(), " is too large"));
  }
  CheckPath(problems, kWhere, "serial_file", tsa.serial_file(), Required::kYes);
}

}  // namespace

absl::Status ValidateConfig(const Config& config) {
  Problems problems;
  CheckListeners(problems, config);
  const TokenTable tokens = CheckTokens(problems, config);
  const KeyTable keys = CheckKeys(problems, config, tokens);
  CheckCallers(problems, config, keys);
  CheckLimits(problems, config.limits());
  CheckAudit(problems, config, keys);
  CheckTimestampAuthority(problems, config, keys);
  CheckPath(problems, "config", "trust_anchors_file", config.trust_anchors_file(), Required::kNo);
  for (int i = 0; i < config.validation().crl_files_size(); ++i) {
    CheckPath(problems, "validation", absl::StrCat("crl_files[", i, "]"),
              config.validation().crl_files(i), Required::kYes);
  }
  CheckPath(problems, "validation", "crl_directory", config.validation().crl_directory(),
            Required::kNo);
  CheckPath(problems, "validation", "recipient_trust_anchors_file",
            config.validation().recipient_trust_anchors_file(), Required::kNo);
  CheckPath(problems, "validation", "crl_issuer_certificates_file",
            config.validation().crl_issuer_certificates_file(), Required::kNo);
  CheckPath(problems, "validation", "tsa_trust_anchors_file",
            config.validation().tsa_trust_anchors_file(), Required::kNo);
  for (const auto& [where, what] : ValidationProblems(config.validation())) {
    problems.Add(where, what);
  }
  for (const auto& [where, what] : DirectoryProblems(config)) problems.Add(where, what);
  if (!config.metrics_address().empty()) {
    if (absl::StatusOr<http::ListenAddress> metrics =
            http::ParseListenAddress(config.metrics_address());
        !metrics.ok()) {
      problems.Add("config", absl::StrCat("metrics_address ", metrics.status().message()));
    }
  }
  return problems.ToStatus();
}

}  // namespace signet::server
