#include "tokens/tool/commands.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
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
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/command_options.h"
#include "common/log.h"
#include "tokens/keys/key_locator.h"
#include "tokens/keys/key_policy.h"
#include "tokens/keys/keygen.h"
#include "tokens/keys/token_key.h"
#include "tokens/module.h"
#include "tokens/objects.h"
#include "tokens/pin_source.h"
#include "tokens/pkcs11_uri.h"
#include "tokens/token.h"
#include "tokens/token_registry.h"
#include "tokens/token_selector.h"

namespace signet::tool {
namespace {

// One operator command should not hang on a token that stopped answering.
constexpr absl::Duration kCommandTimeout = absl::Seconds(60);

// FindObjects reads the handles in one call; a token with more private keys
// than this is listed in part, and the listing says so.
constexpr CK_ULONG kMaxKeys = 100000;

constexpr char kSlotsUsage[] = R"(usage: signet-token slots --module PATH [--verbose]

Lists the initialized tokens present in the slots of a PKCS#11 module: slot
id, label, serial, manufacturer, model, and the state of the user PIN.

  --module PATH   the PKCS#11 module (a shared library) to load
  --verbose       also print the token layer's log lines
)";

constexpr char kTokenOptionsHelp[] =
    R"(  --module PATH        the PKCS#11 module (a shared library); may instead be
                       given as module-path in a --token URI
  --token LABEL|URI    the token: its label, or a pkcs11: URI with token=,
                       serial=, manufacturer=, model= or slot-id=
  --pin-source SPEC    where the user PIN is read: file:/path (a regular file
                       of yours with mode 0600 or 0400), env:NAME or
                       systemd-credential:NAME; may instead be given as
                       pin-source in a --token URI. Never the PIN itself.
  --clear-lockout      allow one login although the PIN was rejected before or
                       the token reports failed PIN attempts (do this only
                       after fixing the PIN source)
  --verbose            also print the token layer's log lines
)";

constexpr char kKeysUsage[] =
    R"(usage: signet-token keys --module PATH --token LABEL|URI --pin-source SPEC

Lists the private keys on a token: label, id, type and size, usage, whether a
certificate is stored with the key, and whether Signet's default key policy
accepts the key (a refused key is listed with the reason).

)";

constexpr char kKeygenUsage[] =
    R"(usage: signet-token keygen --module PATH --token LABEL|URI --pin-source SPEC
                           --label LABEL --algorithm ALG --purpose PURPOSE [--id HEX]

Generates a key pair on the token. The private key never leaves it: it is
CKA_SENSITIVE, not CKA_EXTRACTABLE, and has only its purpose's usage. Prints
the new key's id and its public key (PEM).

  --label LABEL        CKA_LABEL of the new key; no other private key may have it
  --algorithm ALG      rsa2048, rsa3072, rsa4096, p256 or p384
  --purpose PURPOSE    sign, or decrypt (an RSA key decrypts, an EC key derives)
  --id HEX             CKA_ID in hex (default: 16 random bytes)
)";

// ---------------------------------------------------------------------------
// Output.

// Token labels and the like are bytes from a device; control characters are
// escaped so that they cannot drive the operator's terminal.
std::string Printable(absl::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) {
      absl::StrAppendFormat(&out, "\\x%02x", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

int Failed(const absl::Status& status) {
  absl::FPrintF(stderr, "signet-token: %s\n", status.message());
  return kExitFailed;
}

int UsageError(absl::string_view command, absl::string_view message) {
  absl::FPrintF(stderr, "signet-token %s: %s\nRun 'signet-token %s --help' for usage.\n", command,
                message, command);
  return kExitUsage;
}

// The token layer logs to stderr by default; for a one-shot command its
// warnings repeat the error the command prints, so they show only on request.
void ConfigureLogging(bool verbose) {
  if (!verbose) {
    SetLogSink([](LogLevel, absl::string_view) {});
    return;
  }
  SetMinLogLevel(LogLevel::kDebug);
  SetLogSink([](LogLevel level, absl::string_view message) {
    static constexpr absl::string_view kNames[] = {"debug", "info", "warning", "error"};
    absl::FPrintF(stderr, "signet-token: [%s] %s\n", kNames[static_cast<int>(level)], message);
  });
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  return length > 0 ? std::string(data, static_cast<size_t>(length)) : std::string();
}

std::string CurveName(EVP_PKEY* key) {
  char group[80] = {};
  size_t length = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                     &length) != 1) {
    return "unknown curve";
  }
  const absl::string_view name(group, length);
  if (name == "prime256v1") return "P-256";
  if (name == "secp384r1") return "P-384";
  if (name == "secp521r1") return "P-521";
  return std::string(name);
}

std::string TypeText(KeyType type, EVP_PKEY* public_key) {
  if (public_key == nullptr) return std::string(KeyTypeName(type));
  const int bits = EVP_PKEY_get_bits(public_key);
  if (type == KeyType::kEc) return absl::StrCat("EC ", CurveName(public_key), ", ", bits, " bits");
  return absl::StrCat("RSA, ", bits, " bits");
}

std::string UsageText(const KeyAttributes& attributes) {
  std::vector<absl::string_view> usage;
  if (attributes.sign) usage.push_back("sign");
  if (attributes.decrypt) usage.push_back("decrypt");
  if (attributes.derive) usage.push_back("derive");
  if (attributes.unwrap) usage.push_back("unwrap");
  return usage.empty() ? "none" : absl::StrJoin(usage, ", ");
}

std::string CertificateText(X509* certificate) {
  if (certificate == nullptr) return "none";
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return "present";
  BIO_puts(bio.get(), "subject ");
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253);
  BIO_puts(bio.get(), ", expires ");
  ASN1_TIME_print(bio.get(), X509_get0_notAfter(certificate));
  return Printable(BioText(bio.get()));
}

std::string HexId(absl::string_view id) { return id.empty() ? "none" : absl::BytesToHexString(id); }

std::string KeyHeading(absl::string_view label) {
  return label.empty() ? "key (no label)" : absl::StrCat("key ", Printable(label));
}

// ---------------------------------------------------------------------------
// Opening a token.

struct TokenTarget {
  std::string module_path;
  std::string name;  // for messages
  TokenSelector selector;
  std::shared_ptr<const PinSource> pin_source;
  bool clear_lockout = false;
};

constexpr OptionSpec kTokenOptions[] = {{"module"},
                                        {"token"},
                                        {"pin-source"},
                                        {"clear-lockout", OptionKind::kFlag},
                                        {"verbose", OptionKind::kFlag}};

// Usage errors only: nothing here touches the module or the token.
absl::StatusOr<TokenTarget> ParseTokenTarget(const ParsedOptions& options) {
  TokenTarget target;
  std::optional<std::string> module = options.Value("module");
  std::optional<std::string> pin_source = options.Value("pin-source");
  std::optional<std::string> token = options.Value("token");
  if (!token) return absl::InvalidArgumentError("--token is required (a label or a pkcs11: URI)");

  if (absl::StartsWithIgnoreCase(*token, "pkcs11:")) {
    absl::StatusOr<Pkcs11Uri> uri = ParsePkcs11Uri(*token);
    if (!uri.ok())
      return absl::InvalidArgumentError(absl::StrCat("--token: ", uri.status().message()));
    // A URI that names a key would suggest that only that key is meant.
    if (uri->object || uri->id || uri->type) {
      return absl::InvalidArgumentError(
          "--token takes a URI naming a token; object=, id= and type= have no meaning here");
    }
    if (uri->module_name) {
      return absl::InvalidArgumentError(
          "module-name in a --token URI is not supported; use module-path or --module");
    }
    if (uri->module_path) {
      if (module) {
        return absl::InvalidArgumentError(
            "the module is given twice: by --module and by module-path in the --token URI");
      }
      module = uri->module_path;
    }
    if (uri->pin_source) {
      if (pin_source) {
        return absl::InvalidArgumentError(
            "the PIN source is given twice: by --pin-source and by pin-source in the --token URI");
      }
      pin_source = uri->pin_source;
    }
    absl::StatusOr<TokenSelector> selector = TokenSelector::FromUri(*uri);
    if (!selector.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--token: ", selector.status().message()));
    }
    target.selector = *std::move(selector);
    target.name = target.selector.Describe();
  } else {
    target.selector = TokenSelector::ByLabel(*token);
    target.name = *token;
  }

  if (!module) return absl::InvalidArgumentError("--module is required");
  target.module_path = *std::move(module);
  if (pin_source) {
    absl::StatusOr<std::unique_ptr<PinSource>> parsed = ParsePinSource(*pin_source);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--pin-source: ", parsed.status().message()));
    }
    target.pin_source = *std::move(parsed);
  }
  target.clear_lockout = options.Has("clear-lockout");
  return target;
}

absl::StatusOr<std::shared_ptr<Token>> OpenToken(const TokenTarget& target) {
  absl::StatusOr<std::shared_ptr<Module>> module = Module::Load(target.module_path);
  if (!module.ok()) return module.status();
  absl::StatusOr<std::shared_ptr<Token>> token =
      Token::Open(*std::move(module), TokenOptions{
                                          .name = target.name,
                                          .selector = target.selector,
                                          .pin_source = target.pin_source,
                                          .max_in_flight = 2,
                                          // One command, one attempt: a failure at
                                          // Open is retried at once by Acquire.
                                          .recovery_interval = absl::ZeroDuration(),
                                      });
  if (!token.ok()) return token.status();
  // Token::Open refused to log in without presenting the PIN; the operator
  // says that one attempt is wanted now.
  if (target.clear_lockout) (*token)->ClearLockout();
  return token;
}

// A locked-out token stays so for the daemon until an operator acts; for
// this tool the operator's action is the flag.
int TokenFailed(const Token& token, const absl::Status& status) {
  Failed(status);
  if (token.state() == TokenState::kLockedOut) {
    absl::FPrintF(stderr,
                  "signet-token: once the PIN source is right (or the token's security officer "
                  "has reset the user PIN), run again with --clear-lockout to allow one login "
                  "attempt\n");
  }
  return kExitFailed;
}

// ---------------------------------------------------------------------------
// slots

std::string PinStateText(CK_FLAGS flags) {
  if (!(flags & CKF_LOGIN_REQUIRED)) return "not required";
  std::string text = "required, user PIN ";
  if (!(flags & CKF_USER_PIN_INITIALIZED)) {
    absl::StrAppend(&text, "not initialized");
  } else if (flags & CKF_USER_PIN_LOCKED) {
    absl::StrAppend(&text, "locked");
  } else if (flags & CKF_USER_PIN_FINAL_TRY) {
    absl::StrAppend(&text, "on its final try");
  } else if (flags & CKF_USER_PIN_COUNT_LOW) {
    absl::StrAppend(&text, "had failed attempts since the last login");
  } else {
    absl::StrAppend(&text, "ok");
  }
  if (flags & CKF_PROTECTED_AUTHENTICATION_PATH) {
    absl::StrAppend(&text, " (entered on the reader's PIN pad)");
  }
  return text;
}

// ---------------------------------------------------------------------------
// keys

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
  absl::StatusOr<SessionLease> lease = token.Acquire(deadline);
  if (!lease.ok()) return lease.status();
  const Module& module = token.module();
  AttributeTemplate search;
  search.Add(CKA_CLASS, CKO_PRIVATE_KEY);
  absl::StatusOr<std::vector<CK_OBJECT_HANDLE>> handles =
      FindObjects(module, lease->handle(), search, kMaxKeys);
  if (!handles.ok()) return token.ReportFailure(*lease, handles.status());
  truncated = handles->size() >= kMaxKeys;

  std::vector<ListedKey> keys;
  for (CK_OBJECT_HANDLE handle : *handles) {
    absl::StatusOr<AttributeValues> values =
        ReadAttributes(module, lease->handle(), handle, {CKA_LABEL, CKA_ID});
    if (!values.ok()) return token.ReportFailure(*lease, values.status());
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
      key.located = LocateKey(module, lease->handle(), selector);
      if (!key.located.ok() && IsFault(key.located.status())) {
        return token.ReportFailure(*lease, key.located.status());
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
  absl::StatusOr<std::vector<ListedKey>> keys = FindPrivateKeys(*token, deadline, truncated);
  if (!keys.ok()) return keys.status();
  // Loaded as the daemon loads a configured key, for the verdict alone.
  for (ListedKey& key : *keys) {
    if (!key.selector) {
      key.policy = key.located.status();
      continue;
    }
    key.policy = TokenKey::Load(token, *key.selector, KeyPolicy{}, deadline).status();
  }

  const TokenDescription description = token->Status().description;
  absl::PrintF("token %s: serial %s, slot %d, %d private key%s%s\n", Printable(description.label),
               Printable(description.serial), description.slot, keys->size(),
               keys->size() == 1 ? "" : "s",
               truncated ? absl::StrCat(" (only the first ", kMaxKeys, " are listed)") : "");
  for (const ListedKey& key : *keys) {
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

// ---------------------------------------------------------------------------
// keygen

std::optional<KeyAlgorithm> ParseAlgorithm(absl::string_view text) {
  if (text == "rsa2048") return KeyAlgorithm::kRsa2048;
  if (text == "rsa3072") return KeyAlgorithm::kRsa3072;
  if (text == "rsa4096") return KeyAlgorithm::kRsa4096;
  if (text == "p256") return KeyAlgorithm::kEcP256;
  if (text == "p384") return KeyAlgorithm::kEcP384;
  return std::nullopt;
}

std::optional<KeyPurpose> ParsePurpose(absl::string_view text) {
  if (text == "sign") return KeyPurpose::kSign;
  if (text == "decrypt") return KeyPurpose::kDecrypt;
  return std::nullopt;
}

absl::StatusOr<std::string> PublicKeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key) != 1) {
    return absl::InternalError("the public key cannot be written as PEM");
  }
  return BioText(bio.get());
}

}  // namespace

int RunSlots(const std::vector<std::string>& args) {
  static constexpr OptionSpec kOptions[] = {{"module"}, {"verbose", OptionKind::kFlag}};
  absl::StatusOr<ParsedOptions> options =
      ParseOptions(args, {.command = "slots", .options = kOptions});
  if (!options.ok()) return UsageError("slots", options.status().message());
  if (options->help()) {
    absl::PrintF("%s", kSlotsUsage);
    return kExitOk;
  }
  absl::StatusOr<std::string> module_path = options->Required("module");
  if (!module_path.ok()) return UsageError("slots", module_path.status().message());
  ConfigureLogging(options->Has("verbose"));

  // Held while Discover runs, which then finds this instance loaded.
  absl::StatusOr<std::shared_ptr<Module>> module = Module::Load(*module_path);
  if (!module.ok()) return Failed(module.status());
  absl::StatusOr<std::vector<TokenDescription>> tokens = TokenRegistry::Discover(*module_path);
  if (!tokens.ok()) return Failed(tokens.status());

  const ModuleInfo& info = (*module)->info();
  absl::PrintF("module %s: %s, %s, library %d.%d, Cryptoki %d.%d (%s)\n", info.path,
               Printable(info.manufacturer), Printable(info.description),
               info.library_version.major, info.library_version.minor, info.cryptoki_version.major,
               info.cryptoki_version.minor,
               info.found_by_get_interface ? "C_GetInterface" : "C_GetFunctionList");
  if (tokens->empty()) absl::PrintF("no initialized token is present\n");
  for (const TokenDescription& token : *tokens) {
    absl::PrintF(
        "\nslot %d\n  label: %s\n  serial: %s\n  manufacturer: %s\n  model: %s\n  login: %s\n",
        token.slot, Printable(token.label), Printable(token.serial), Printable(token.manufacturer),
        Printable(token.model), PinStateText(token.flags));
  }
  return kExitOk;
}

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

int RunKeygen(const std::vector<std::string>& args) {
  std::vector<OptionSpec> specs(std::begin(kTokenOptions), std::end(kTokenOptions));
  specs.insert(specs.end(), {{"label"}, {"algorithm"}, {"purpose"}, {"id"}});
  absl::StatusOr<ParsedOptions> options =
      ParseOptions(args, {.command = "keygen", .options = specs});
  if (!options.ok()) return UsageError("keygen", options.status().message());
  if (options->help()) {
    absl::PrintF("%s%s", kKeygenUsage, kTokenOptionsHelp);
    return kExitOk;
  }
  absl::StatusOr<TokenTarget> target = ParseTokenTarget(*options);
  if (!target.ok()) return UsageError("keygen", target.status().message());

  KeyGenSpec spec;
  std::optional<std::string> label = options->Value("label");
  if (!label) return UsageError("keygen", "--label is required");
  spec.label = *label;
  std::optional<std::string> algorithm = options->Value("algorithm");
  if (!algorithm) return UsageError("keygen", "--algorithm is required");
  std::optional<KeyAlgorithm> parsed_algorithm = ParseAlgorithm(*algorithm);
  if (!parsed_algorithm) {
    return UsageError("keygen", "--algorithm must be rsa2048, rsa3072, rsa4096, p256 or p384");
  }
  spec.algorithm = *parsed_algorithm;
  std::optional<std::string> purpose = options->Value("purpose");
  if (!purpose) return UsageError("keygen", "--purpose is required");
  std::optional<KeyPurpose> parsed_purpose = ParsePurpose(*purpose);
  if (!parsed_purpose) return UsageError("keygen", "--purpose must be sign or decrypt");
  spec.purpose = *parsed_purpose;
  if (std::optional<std::string> id = options->Value("id")) {
    if (id->size() % 2 != 0 || !std::all_of(id->begin(), id->end(), absl::ascii_isxdigit)) {
      return UsageError("keygen", "--id must be an even number of hex digits");
    }
    spec.id = absl::HexStringToBytes(*id);
  }
  ConfigureLogging(options->Has("verbose"));

  absl::StatusOr<std::shared_ptr<Token>> token = OpenToken(*target);
  if (!token.ok()) return Failed(token.status());
  absl::StatusOr<std::shared_ptr<TokenKey>> key =
      GenerateKeyPair(*token, spec, absl::Now() + kCommandTimeout);
  if (!key.ok()) return TokenFailed(**token, key.status());
  absl::StatusOr<std::string> pem = PublicKeyPem((*key)->public_key());
  if (!pem.ok()) return Failed(pem.status());

  absl::PrintF("generated %s on token %s\n  id: %s\n  type: %s\n  usage: %s\n%s",
               KeyHeading((*key)->label()), Printable((*token)->name()), HexId((*key)->id()),
               TypeText((*key)->type(), (*key)->public_key()), UsageText((*key)->attributes()),
               *pem);
  return kExitOk;
}

}  // namespace signet::tool
