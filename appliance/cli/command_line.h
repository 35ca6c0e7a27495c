// `signet`'s command line: which command, its options and files, checked
// before anything is opened or sent.
#ifndef SIGNET_APPLIANCE_CLI_COMMAND_LINE_H_
#define SIGNET_APPLIANCE_CLI_COMMAND_LINE_H_

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "signet/v1/keys.pb.h"
#include "signet/v1/mail.pb.h"

namespace signet::cli {

enum class Command {
  kHelp,
  kVersion,
  kSign,
  kEncrypt,
  kSignEncrypt,
  kDecrypt,
  kVerify,
  kSignDigest,
  kTimestamp,
  kTokens,
  kKeys,
  kKey,
  kKeygen,
  kCsr,
  kImportCert,
  kAuditVerify,
  kLookup,
  kPublish,
  kUnpublish,
  kCertificates,
  kExportSmimea,
  kExportLdif,
};

inline constexpr char kDefaultSocket[] = "/run/signet/signetd.sock";
inline constexpr absl::Duration kDefaultTimeout = absl::Seconds(60);

// Where signetd is: a unix socket, or a TCP address with mutual TLS.
struct ConnectionOptions {
  std::string socket;  // set unless server is
  std::string server;  // HOST:PORT
  std::string cert_file;
  std::string key_file;
  std::string ca_file;
  std::string tls_name;  // overrides the name the server's certificate must carry
  absl::Duration timeout = kDefaultTimeout;
};

struct Invocation {
  Command command = Command::kHelp;
  // As the user typed it ("sign", "audit verify"): error lines start with it.
  std::string name;
  ConnectionOptions connection;
  // Show the progress bar even when stderr is not a terminal.
  bool progress = false;

  // Files; "-" is stdin or stdout.
  std::string input = "-";
  std::string output = "-";

  // Mail, SignDigest, CreateCsr, ImportCertificate: the configured key name.
  std::string key;
  v1::SignOptions sign;
  std::vector<std::string> recipient_files;
  v1::ContentCipher cipher = v1::CONTENT_CIPHER_UNSPECIFIED;
  v1::RsaKeyTransport rsa_key_transport = v1::RSA_KEY_TRANSPORT_UNSPECIFIED;
  bool skip_recipient_validation = false;
  // --to: recipients by address, found by signetd's certificate directory;
  // --skip-unresolved: encrypt to those found and report the others.
  std::vector<std::string> recipient_addresses;
  bool skip_unresolved = false;
  bool allow_untrusted = false;
  bool require_sender_match = false;
  std::string digest;  // sign-digest: the digest's bytes

  // timestamp (the digest algorithm is sign.digest()): --url, the TSA asked
  // over HTTP instead of signetd; --policy, the policy OID asked for.
  std::string tsa_url;
  std::string policy;

  // Keys.
  std::string token;
  std::string label;
  std::string id;  // keygen --id, bytes
  v1::KeyAlgorithm algorithm = v1::KEY_ALGORITHM_UNSPECIFIED;
  v1::KeyPurpose purpose = v1::KEY_PURPOSE_UNSPECIFIED;
  std::string subject;
  std::vector<std::string> emails;
  std::string certificate_file;

  // Directory: lookup's and certificates' ADDRESS, publish --skip-validation,
  // unpublish's SHA256, the exports' SMIMEA usage and form and LDIF base DN.
  std::string address;
  bool skip_validation = false;
  std::string sha256;
  int smimea_usage = 3;
  bool smimea_generic = false;
  std::string base_dn;

  // audit verify.
  std::string audit_log;
  std::string audit_key_file;

  // help: the command asked about, empty for all.
  std::string help_topic;
};

struct UsageError {
  // The command the error is about ("" before one was recognised), so that
  // its usage can be shown.
  std::string command;
  std::string message;
};

// args: argv without argv[0]. env_socket: $SIGNET_SOCKET, if set.
std::variant<Invocation, UsageError> ParseCommandLine(const std::vector<std::string>& args,
                                                      std::optional<std::string> env_socket);

// The help of one command ("sign", "audit verify"), or of all when command is
// empty or unknown. Ends with a newline.
std::string UsageText(absl::string_view command);

// What follows a usage error: the command's synopsis, or where to look when
// no command was recognised. Ends with a newline.
std::string ShortUsage(absl::string_view command);

}  // namespace signet::cli

#endif  // SIGNET_APPLIANCE_CLI_COMMAND_LINE_H_
