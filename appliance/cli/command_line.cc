#include "appliance/cli/command_line.h"

#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "appliance/cli/command_specs.h"
#include "common/command_options.h"

namespace signet::cli {
namespace {

// Before the command word: an option, not the command.
bool IsOption(absl::string_view arg) { return arg.size() > 1 && arg[0] == '-'; }

// Typed values from the parsed options, with the first problem kept: the
// error is the first of the command line, whichever option it is about.
class Options {
 public:
  explicit Options(ParsedOptions parsed) : parsed_(std::move(parsed)) {}

  bool Has(const std::string& name) const { return parsed_.Has(name); }
  std::string Get(const std::string& name) const { return parsed_.Value(name).value_or(""); }
  std::vector<std::string> All(const std::string& name) const { return parsed_.Values(name); }
  std::string Required(const std::string& name) {
    absl::StatusOr<std::string> value = parsed_.Required(name);
    if (!value.ok()) Fail(std::string(value.status().message()));
    return value.value_or("");
  }
  // The value of --name looked up in choices ({"sha256", SHA256}, ...).
  template <typename T>
  T Choice(const std::string& name, const std::vector<std::pair<const char*, T>>& choices,
           T otherwise) {
    if (!Has(name)) return otherwise;
    const std::string value = absl::AsciiStrToLower(Get(name));
    std::vector<std::string> names;
    for (const auto& [choice, result] : choices) {
      if (value == choice) return result;
      names.push_back(choice);
    }
    Fail(absl::StrCat("--", name, " must be one of ", absl::StrJoin(names, ", "), ", not '",
                      Get(name), "'"));
    return otherwise;
  }
  const std::vector<std::string>& positionals() const { return parsed_.arguments(); }

  void Fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
  }
  const std::string& error() const { return error_; }

 private:
  ParsedOptions parsed_;
  std::string error_;
};

std::optional<std::string> HexToBytes(absl::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string bytes;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int value = 0;
    for (char c : {hex[i], hex[i + 1]}) {
      if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
      const int digit = absl::ascii_isdigit(static_cast<unsigned char>(c))
                            ? c - '0'
                            : absl::ascii_tolower(static_cast<unsigned char>(c)) - 'a' + 10;
      value = value * 16 + digit;
    }
    bytes.push_back(static_cast<char>(value));
  }
  return bytes;
}

v1::DigestAlgorithm DigestOption(Options& options) {
  return options.Choice<v1::DigestAlgorithm>("digest",
                                             {{"sha256", v1::SHA256},
                                              {"sha384", v1::SHA384},
                                              {"sha512", v1::SHA512},
                                              {"sha-256", v1::SHA256},
                                              {"sha-384", v1::SHA384},
                                              {"sha-512", v1::SHA512}},
                                             v1::SHA256);
}

void ReadSignOptions(Options& options, Invocation& invocation) {
  invocation.key = options.Required("key");
  invocation.sign.set_digest(DigestOption(options));
  invocation.sign.set_rsa_pss(options.Has("pss"));
  invocation.sign.set_form(options.Has("opaque") ? v1::OPAQUE : v1::MULTIPART_SIGNED);
  invocation.sign.set_timestamp(options.Has("timestamp"));
}

void ReadEncryptOptions(Options& options, Invocation& invocation) {
  invocation.recipient_files = options.All("recipient");
  invocation.recipient_addresses = options.All("to");
  if (invocation.recipient_files.empty() && invocation.recipient_addresses.empty()) {
    options.Fail(
        "--recipient CERT.pem or --to ADDRESS is required (repeat them for more recipients)");
  }
  invocation.skip_unresolved = options.Has("skip-unresolved");
  if (invocation.skip_unresolved && invocation.recipient_addresses.empty()) {
    options.Fail("--skip-unresolved is for recipients given with --to");
  }
  // Unset, signetd chooses: AES-256-GCM and OAEP, or what every recipient
  // found by address advertised it reads.
  invocation.cipher = options.Choice<v1::ContentCipher>("cipher",
                                                        {{"aes-256-gcm", v1::AES_256_GCM},
                                                         {"aes-128-gcm", v1::AES_128_GCM},
                                                         {"aes-256-cbc", v1::AES_256_CBC},
                                                         {"aes-128-cbc", v1::AES_128_CBC}},
                                                        v1::CONTENT_CIPHER_UNSPECIFIED);
  invocation.rsa_key_transport =
      options.Has("rsa-pkcs1") ? v1::RSA_PKCS1 : v1::RSA_KEY_TRANSPORT_UNSPECIFIED;
  invocation.skip_recipient_validation = options.Has("skip-recipient-validation");
}

// IN and OUT, each optional.
void ReadFiles(Options& options, Invocation& invocation, size_t max_files) {
  const std::vector<std::string>& files = options.positionals();
  if (files.size() > max_files) {
    options.Fail(max_files == 2 ? "too many files: at most IN and OUT"
                                : absl::StrCat("unexpected argument '", files[max_files], "'"));
    return;
  }
  if (max_files == 2) {
    if (!files.empty()) invocation.input = files[0];
    if (files.size() > 1) invocation.output = files[1];
  } else if (!files.empty()) {
    invocation.output = files[0];
  }
}

// Exactly one positional: `what` names it in the message.
std::string ReadOne(Options& options, const char* what) {
  const std::vector<std::string>& args = options.positionals();
  if (args.empty()) {
    options.Fail(absl::StrCat(what, " is required"));
    return "";
  }
  if (args.size() > 1) options.Fail(absl::StrCat("unexpected argument '", args[1], "'"));
  return args[0];
}

void ReadConnection(Options& options, Invocation& invocation,
                    const std::optional<std::string>& env_socket) {
  ConnectionOptions& connection = invocation.connection;
  const bool tls_options = options.Has("cert") || options.Has("key-file") || options.Has("ca") ||
                           options.Has("tls-name");
  if (options.Has("server")) {
    if (options.Has("socket")) options.Fail("--socket and --server exclude each other");
    connection.server = options.Get("server");
    if (!options.Has("cert") || !options.Has("key-file") || !options.Has("ca")) {
      options.Fail(
          "--server needs --cert, --key-file and --ca: signetd requires mutual TLS on TCP");
    }
    connection.cert_file = options.Get("cert");
    connection.key_file = options.Get("key-file");
    connection.ca_file = options.Get("ca");
    connection.tls_name = options.Get("tls-name");
  } else {
    if (tls_options) options.Fail("--cert, --key-file, --ca and --tls-name go with --server");
    if (options.Has("socket")) {
      connection.socket = options.Get("socket");
    } else if (env_socket.has_value() && !env_socket->empty()) {
      connection.socket = *env_socket;
    } else {
      connection.socket = kDefaultSocket;
    }
  }
  if (options.Has("timeout")) {
    double seconds = 0;
    if (!absl::SimpleAtod(options.Get("timeout"), &seconds) || !std::isfinite(seconds) ||
        seconds <= 0 || seconds > 1e6) {
      options.Fail(absl::StrCat("--timeout must be a positive number of seconds, not '",
                                options.Get("timeout"), "'"));
    } else {
      connection.timeout = absl::Seconds(seconds);
    }
  }
  invocation.progress = options.Has("progress");
}

void ReadCommand(Options& options, Invocation& invocation) {
  switch (invocation.command) {
    case Command::kSign:
      ReadSignOptions(options, invocation);
      ReadFiles(options, invocation, 2);
      break;
    case Command::kEncrypt:
      ReadEncryptOptions(options, invocation);
      ReadFiles(options, invocation, 2);
      break;
    case Command::kSignEncrypt:
      ReadSignOptions(options, invocation);
      ReadEncryptOptions(options, invocation);
      ReadFiles(options, invocation, 2);
      break;
    case Command::kDecrypt:
      invocation.key = options.Required("key");
      ReadFiles(options, invocation, 2);
      break;
    case Command::kVerify:
      invocation.allow_untrusted = options.Has("allow-untrusted");
      invocation.require_sender_match = options.Has("require-sender-match");
      ReadFiles(options, invocation, 2);
      break;
    case Command::kSignDigest: {
      invocation.key = options.Required("key");
      invocation.sign.set_digest(DigestOption(options));
      invocation.sign.set_rsa_pss(options.Has("pss"));
      invocation.sign.set_timestamp(options.Has("timestamp"));
      const std::string hex = options.Required("digest-hex");
      std::optional<std::string> digest = HexToBytes(hex);
      const size_t expected = invocation.sign.digest() == v1::SHA512   ? 64
                              : invocation.sign.digest() == v1::SHA384 ? 48
                                                                       : 32;
      if (!digest.has_value()) {
        options.Fail("--digest-hex must be an even number of hex digits");
      } else if (!hex.empty() && digest->size() != expected) {
        options.Fail(absl::StrCat("--digest-hex has ", digest->size(),
                                  digest->size() == 1 ? " byte" : " bytes", ", but a ",
                                  v1::DigestAlgorithm_Name(invocation.sign.digest()),
                                  " digest has ", expected));
      } else {
        invocation.digest = std::move(*digest);
      }
      ReadFiles(options, invocation, 1);
      break;
    }
    case Command::kTimestamp: {
      invocation.sign.set_digest(DigestOption(options));
      invocation.policy = options.Get("policy");
      invocation.tsa_url = options.Get("url");
      if (options.Has("url") && !absl::StartsWith(invocation.tsa_url, "http://")) {
        options.Fail(absl::StrCat("--url must be an http:// URL, not '", invocation.tsa_url, "'"));
      }
      // The stamp is over a file's contents: FILE is required, "-" being
      // stdin.
      if (options.positionals().empty()) options.Fail("FILE is required");
      ReadFiles(options, invocation, 2);
      break;
    }
    case Command::kTokens:
      ReadFiles(options, invocation, 0);
      break;
    case Command::kKeys:
      invocation.token = options.Get("token");
      ReadFiles(options, invocation, 0);
      break;
    case Command::kKey:
      invocation.key = ReadOne(options, "the key's NAME");
      break;
    case Command::kKeygen: {
      invocation.token = options.Required("token");
      invocation.label = options.Required("label");
      if (options.Has("id")) {
        std::optional<std::string> id = HexToBytes(options.Get("id"));
        if (!id.has_value()) options.Fail("--id must be an even number of hex digits");
        invocation.id = id.value_or("");
      }
      if (!options.Has("algorithm")) options.Fail("--algorithm is required");
      invocation.algorithm = options.Choice<v1::KeyAlgorithm>("algorithm",
                                                              {{"rsa-2048", v1::RSA_2048},
                                                               {"rsa-3072", v1::RSA_3072},
                                                               {"rsa-4096", v1::RSA_4096},
                                                               {"ec-p256", v1::EC_P256},
                                                               {"ec-p384", v1::EC_P384}},
                                                              v1::KEY_ALGORITHM_UNSPECIFIED);
      if (!options.Has("purpose")) options.Fail("--purpose is required");
      invocation.purpose = options.Choice<v1::KeyPurpose>(
          "purpose", {{"sign", v1::SIGN}, {"decrypt", v1::DECRYPT}}, v1::KEY_PURPOSE_UNSPECIFIED);
      ReadFiles(options, invocation, 0);
      break;
    }
    case Command::kCsr:
      invocation.key = options.Required("key");
      invocation.subject = options.Required("subject");
      invocation.emails = options.All("email");
      ReadFiles(options, invocation, 1);
      break;
    case Command::kImportCert:
      invocation.key = options.Required("key");
      invocation.certificate_file = ReadOne(options, "the certificate file");
      break;
    case Command::kLookup:
      invocation.address = options.positionals().empty() ? "" : options.positionals()[0];
      if (invocation.address.empty()) options.Fail("the ADDRESS to look up is required");
      if (options.positionals().size() > 1) invocation.output = options.positionals()[1];
      if (options.positionals().size() > 2) options.Fail("too many arguments: ADDRESS [OUT]");
      break;
    case Command::kPublish:
      invocation.skip_validation = options.Has("skip-validation");
      invocation.certificate_file = ReadOne(options, "the certificate file");
      break;
    case Command::kUnpublish:
      invocation.sha256 = ReadOne(options, "the certificate's SHA256 fingerprint");
      break;
    case Command::kCertificates:
      invocation.address = options.Get("address");
      ReadFiles(options, invocation, 0);
      break;
    case Command::kExportSmimea:
      invocation.smimea_usage = options.Choice<int>("usage", {{"3", 3}, {"1", 1}}, 3);
      invocation.smimea_generic = options.Has("generic");
      ReadFiles(options, invocation, 1);
      break;
    case Command::kExportLdif:
      invocation.base_dn = options.Required("base-dn");
      ReadFiles(options, invocation, 1);
      break;
    case Command::kAuditVerify:
      invocation.audit_log = options.Required("log");
      invocation.audit_key_file = options.Required("key");
      ReadFiles(options, invocation, 0);
      break;
    case Command::kHelp:
    case Command::kVersion:
      break;
  }
}

}  // namespace

std::variant<Invocation, UsageError> ParseCommandLine(const std::vector<std::string>& args,
                                                      std::optional<std::string> env_socket) {
  // Options in front of the command: the connection's, or help and version.
  std::vector<std::string> leading;
  size_t i = 0;
  for (; i < args.size() && IsOption(args[i]); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") return Invocation{.command = Command::kHelp};
    if (arg == "--version") return Invocation{.command = Command::kVersion};
    if (arg == "--") {
      ++i;
      break;
    }
    const size_t equals = arg.find('=');
    const std::string name = absl::StartsWith(arg, "--")
                                 ? arg.substr(2, equals == std::string::npos ? equals : equals - 2)
                                 : arg;
    const OptionSpec* spec = FindOption(ConnectionSpecs(), name);
    if (spec == nullptr) {
      return UsageError{"", absl::StrCat("unknown option ", arg, " before the command")};
    }
    leading.push_back(arg);
    if (spec->kind != OptionKind::kFlag && equals == std::string::npos && i + 1 < args.size() &&
        CanBeSeparateValue(args[i + 1])) {
      leading.push_back(args[++i]);
    }
  }
  if (i == args.size()) return UsageError{"", "no command given"};
  std::string word = args[i++];
  if (word == "help") {
    Invocation help{.command = Command::kHelp, .name = "help"};
    if (i < args.size()) help.help_topic = args[i];
    if (help.help_topic == "audit") help.help_topic = "audit verify";
    return help;
  }
  if (word == "version") return Invocation{.command = Command::kVersion};
  if (word == "audit") {
    if (i == args.size() || args[i] != "verify") {
      if (i < args.size() && (args[i] == "--help" || args[i] == "-h")) {
        return Invocation{.command = Command::kHelp, .help_topic = "audit verify"};
      }
      return UsageError{"audit verify", "audit takes a subcommand: verify"};
    }
    word = "audit verify";
    ++i;
  }
  const CommandSpec* spec = FindCommand(word);
  if (spec == nullptr) return UsageError{"", absl::StrCat("unknown command '", word, "'")};

  std::vector<OptionSpec> specs = spec->options;
  if (spec->connects) {
    specs.insert(specs.end(), ConnectionSpecs().begin(), ConnectionSpecs().end());
  }
  const OptionSyntax syntax = {
      .command = spec->name,
      .options = specs,
      .not_here = spec->connects ? absl::Span<const OptionSpec>() : ConnectionSpecs(),
      .arguments = true,
  };
  // The options in front of the command and those after it are one set: the
  // same option in both places is given twice. Positions in errors count the
  // words after the command, since those in front are all known options.
  ParsedOptions parsed;
  for (absl::Span<const std::string> part :
       {absl::Span<const std::string>(leading), absl::MakeConstSpan(args).subspan(i)}) {
    if (absl::Status status = parsed.Parse(part, syntax); !status.ok()) {
      return UsageError{spec->name, std::string(status.message())};
    }
  }
  if (parsed.help()) return Invocation{.command = Command::kHelp, .help_topic = spec->name};

  Options options(std::move(parsed));
  Invocation invocation{.command = spec->command, .name = spec->name};
  if (spec->connects) ReadConnection(options, invocation, env_socket);
  ReadCommand(options, invocation);
  if (!options.error().empty()) return UsageError{spec->name, options.error()};
  return invocation;
}

}  // namespace signet::cli
