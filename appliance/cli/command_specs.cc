#include "appliance/cli/command_specs.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace signet::cli {
namespace {

constexpr OptionSpec kKey = {"key"};
constexpr OptionSpec kDigest = {"digest"};
constexpr OptionSpec kPss = {"pss", OptionKind::kFlag};
constexpr OptionSpec kOpaque = {"opaque", OptionKind::kFlag};
constexpr OptionSpec kTimestamp = {"timestamp", OptionKind::kFlag};
constexpr OptionSpec kRecipient = {"recipient", OptionKind::kRepeated};
constexpr OptionSpec kCipher = {"cipher"};
constexpr OptionSpec kRsaPkcs1 = {"rsa-pkcs1", OptionKind::kFlag};
constexpr OptionSpec kSkipRecipientValidation = {"skip-recipient-validation", OptionKind::kFlag};
constexpr OptionSpec kTo = {"to", OptionKind::kRepeated};
constexpr OptionSpec kSkipUnresolved = {"skip-unresolved", OptionKind::kFlag};

constexpr char kConnectionUsage[] =
    "connection (before or after the command):\n"
    "  --socket PATH          signetd's unix socket (default: $SIGNET_SOCKET, else\n"
    "                         /run/signet/signetd.sock)\n"
    "  --server HOST:PORT     signetd over TCP with mutual TLS; needs --cert, --key-file\n"
    "                         and --ca (and --tls-name NAME when the server's\n"
    "                         certificate does not name HOST)\n"
    "  --timeout SECONDS      deadline of the whole operation (default 60)\n"
    "  --progress             progress bar on stderr even when it is not a terminal\n"
    "                         (mails over 4 MiB)\n";

constexpr char kExitUsageText[] =
    "exit codes: 0 done, 1 the operation failed, 2 usage error, 3 signetd could not be\n"
    "reached\n";

std::string Synopsis(const CommandSpec& spec) {
  return absl::StrCat("  ", absl::StrReplaceAll(spec.synopsis, {{"\n", "\n  "}}), "\n");
}

}  // namespace

const std::vector<OptionSpec>& ConnectionSpecs() {
  static const auto* specs = new std::vector<OptionSpec>{
      {"socket"}, {"server"},   {"cert"},    {"key-file"},
      {"ca"},     {"tls-name"}, {"timeout"}, {"progress", OptionKind::kFlag}};
  return *specs;
}

const std::vector<CommandSpec>& Commands() {
  static const auto* commands = new std::vector<CommandSpec>{
      {"sign",
       Command::kSign,
       true,
       {kKey, kDigest, kPss, kOpaque, kTimestamp},
       "signet sign --key NAME [--digest sha256|sha384|sha512] [--pss] [--opaque] [--timestamp]\n"
       "            [IN [OUT]]\n"
       "  (--timestamp: an RFC 3161 time-stamp over the signature, from the TSAs configured\n"
       "  for the key; the stamp, or why there is none, on stderr)"},
      {"encrypt",
       Command::kEncrypt,
       true,
       {kRecipient, kTo, kSkipUnresolved, kCipher, kRsaPkcs1, kSkipRecipientValidation},
       "signet encrypt [--recipient CERT.pem...] [--to ADDRESS...] [--skip-unresolved]\n"
       "               [--cipher aes-256-gcm|aes-128-gcm|aes-256-cbc|aes-128-cbc] [--rsa-pkcs1]\n"
       "               [--skip-recipient-validation] [IN [OUT]]\n"
       "  (--to: a recipient's certificate from signetd's certificate directory; without\n"
       "  --cipher the algorithms follow what the recipients advertised;\n"
       "  --skip-unresolved: leave out addresses with no usable certificate, named on\n"
       "  stderr; --skip-recipient-validation: encrypt to certificates signetd would\n"
       "  refuse, where its configuration allows this caller to; logged and audited)"},
      {"sign-encrypt",
       Command::kSignEncrypt,
       true,
       {kKey, kDigest, kPss, kOpaque, kTimestamp, kRecipient, kTo, kSkipUnresolved, kCipher,
        kRsaPkcs1, kSkipRecipientValidation},
       "signet sign-encrypt --key NAME [--digest ...] [--pss] [--opaque] [--timestamp]\n"
       "                    [--recipient CERT.pem...] [--to ADDRESS...] [--skip-unresolved]\n"
       "                    [--cipher ...] [--rsa-pkcs1] [--skip-recipient-validation]\n"
       "                    [IN [OUT]]"},
      {"decrypt", Command::kDecrypt, true, {kKey}, "signet decrypt --key NAME [IN [OUT]]"},
      {"verify",
       Command::kVerify,
       true,
       {{"allow-untrusted", OptionKind::kFlag}, {"require-sender-match", OptionKind::kFlag}},
       "signet verify [--allow-untrusted] [--require-sender-match] [IN [OUT]]\n"
       "  (the signers and their time-stamps on stderr, the signed entity to OUT;\n"
       "  --require-sender-match fails a mail whose From: address is not the signer's)"},
      {"sign-digest",
       Command::kSignDigest,
       true,
       {kKey, kDigest, {"digest-hex"}, kPss, kTimestamp},
       "signet sign-digest --key NAME --digest-hex HEX [--digest sha256|sha384|sha512] [--pss]\n"
       "                   [--timestamp] [OUT]\n"
       "  (OUT: the DER application/pkcs7-signature; HEX: the digest of the canonical\n"
       "  CRLF MIME entity)"},
      {"timestamp",
       Command::kTimestamp,
       true,
       {kDigest, {"policy"}, {"url"}},
       "signet timestamp [--digest sha256|sha384|sha512] [--policy OID] [--url http://TSA/]\n"
       "                 FILE [OUT]\n"
       "  (OUT: the DER RFC 3161 TimeStampResp over FILE's digest, from signetd's TSA or,\n"
       "  with --url, from that TSA over HTTP; status, time, serial and TSA on stderr; a\n"
       "  refusal exits 1 naming its failure. Check OUT with\n"
       "  openssl ts -verify -data FILE -in OUT -CAfile TSA-CA.pem)"},
      {"tokens", Command::kTokens, true, {}, "signet tokens"},
      {"keys", Command::kKeys, true, {{"token"}}, "signet keys [--token TOKEN]"},
      {"key", Command::kKey, true, {}, "signet key NAME"},
      {"keygen",
       Command::kKeygen,
       true,
       {{"token"}, {"label"}, {"id"}, {"algorithm"}, {"purpose"}},
       "signet keygen --token TOKEN --label LABEL [--id HEX]\n"
       "              --algorithm rsa-2048|rsa-3072|rsa-4096|ec-p256|ec-p384\n"
       "              --purpose sign|decrypt"},
      {"csr",
       Command::kCsr,
       true,
       {kKey, {"subject"}, {"email", OptionKind::kRepeated}},
       "signet csr --key NAME --subject \"CN=...,O=...\" [--email ADDRESS...] [OUT]\n"
       "  (OUT: the PKCS#10 request, PEM)"},
      {"import-cert", Command::kImportCert, true, {kKey}, "signet import-cert --key NAME CERT.pem"},
      {"lookup",
       Command::kLookup,
       true,
       {},
       "signet lookup ADDRESS [OUT]\n"
       "  (the certificates signetd's directory would encrypt to, best first, as PEM to OUT;\n"
       "  each one's source and algorithms, and what was found unusable, on stderr)"},
      {"publish",
       Command::kPublish,
       true,
       {{"skip-validation", OptionKind::kFlag}},
       "signet publish [--skip-validation] CERT.pem\n"
       "  (into the directory's store, served to everyone by its public endpoint)"},
      {"unpublish", Command::kUnpublish, true, {}, "signet unpublish SHA256"},
      {"certificates",
       Command::kCertificates,
       true,
       {{"address"}},
       "signet certificates [--address ADDRESS]\n"
       "  (the store: published and harvested certificates)"},
      {"export-smimea",
       Command::kExportSmimea,
       true,
       {{"usage"}, {"generic", OptionKind::kFlag}},
       "signet export-smimea [--usage 3|1] [--generic] [OUT]\n"
       "  (RFC 8162 zone-file records of the published certificates; --generic: the\n"
       "  RFC 3597 TYPE53 form for DNS servers without SMIMEA)"},
      {"export-ldif",
       Command::kExportLdif,
       true,
       {{"base-dn"}},
       "signet export-ldif --base-dn DN [OUT]\n"
       "  (LDIF of the published certificates, one entry per address under DN)"},
      {"audit verify",
       Command::kAuditVerify,
       false,
       {{"log"}, {"key"}},
       "signet audit verify --log PATH --key AUDIT_CERT_OR_PUBLIC_KEY.pem\n"
       "  (offline: needs no daemon)"},
  };
  return *commands;
}

const CommandSpec* FindCommand(absl::string_view name) {
  for (const CommandSpec& spec : Commands()) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

std::string UsageText(absl::string_view command) {
  if (const CommandSpec* spec = FindCommand(command); spec != nullptr) {
    std::string text = absl::StrCat("usage:\n", Synopsis(*spec));
    if (spec->connects) absl::StrAppend(&text, "\n", kConnectionUsage);
    return text;
  }
  std::string text =
      "usage: signet [CONNECTION] COMMAND [OPTIONS] [FILES]\n"
      "\n"
      "Mail: IN and OUT are files; \"-\" or none is stdin and stdout.\n";
  for (const CommandSpec& spec : Commands()) {
    if (spec.command == Command::kTimestamp) absl::StrAppend(&text, "\nTime-stamps:\n");
    if (spec.command == Command::kTokens) absl::StrAppend(&text, "\nTokens and keys:\n");
    if (spec.command == Command::kLookup) absl::StrAppend(&text, "\nCertificate directory:\n");
    if (spec.command == Command::kAuditVerify) absl::StrAppend(&text, "\nAudit:\n");
    absl::StrAppend(&text, Synopsis(spec));
  }
  absl::StrAppend(&text, "\n", kConnectionUsage, "\n", kExitUsageText,
                  "\n\"signet help COMMAND\" shows one command.\n");
  return text;
}

std::string ShortUsage(absl::string_view command) {
  const CommandSpec* spec = FindCommand(command);
  if (spec == nullptr) return UsageText("");
  std::string text = absl::StrCat("usage:\n", Synopsis(*spec));
  if (spec->connects) {
    absl::StrAppend(&text, "(\"signet help ", spec->name,
                    "\" also shows the connection options)\n");
  }
  return text;
}

}  // namespace signet::cli
