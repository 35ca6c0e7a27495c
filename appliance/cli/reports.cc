#include "appliance/cli/reports.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "appliance/cli/pem.h"

namespace signet::cli {
namespace {

// Columns padded to their widest cell, two spaces apart.
std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string text;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      absl::StrAppend(&line, row[i]);
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 2, ' ');
    }
    // An empty last cell would leave padding at the end of the line.
    absl::StrAppend(&text, absl::StripTrailingAsciiWhitespace(line), "\n");
  }
  return text;
}

std::string OrDash(const std::string& value) { return value.empty() ? "-" : value; }

std::string YesNo(bool value) { return value ? "yes" : "no"; }

std::string SecondsText(const google::protobuf::Timestamp& time) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixSeconds(time.seconds()),
                          absl::UTCTimeZone());
}

}  // namespace

std::string AlgorithmName(v1::KeyAlgorithm algorithm) {
  switch (algorithm) {
    case v1::RSA_2048:
      return "rsa-2048";
    case v1::RSA_3072:
      return "rsa-3072";
    case v1::RSA_4096:
      return "rsa-4096";
    case v1::EC_P256:
      return "ec-p256";
    case v1::EC_P384:
      return "ec-p384";
    default:
      return "unknown";
  }
}

std::string PurposeName(v1::KeyPurpose purpose) {
  switch (purpose) {
    case v1::SIGN:
      return "sign";
    case v1::DECRYPT:
      return "decrypt";
    default:
      return "unknown";
  }
}

std::string TokenStateName(v1::TokenState state) {
  switch (state) {
    case v1::READY:
      return "ready";
    case v1::RECOVERING:
      return "recovering";
    case v1::ABSENT:
      return "absent";
    case v1::LOCKED_OUT:
      return "locked-out";
    case v1::ERROR:
      return "error";
    default:
      return "unknown";
  }
}

namespace {

// "good (http://crl.bank.example/ca.crl, 2026-12-05 10:00 UTC)", "REVOKED
// 2026-12-01 (keyCompromise)", "UNKNOWN: unable to get certificate CRL".
std::string RevocationText(const v1::CertificateRevocation& revocation) {
  auto day = [](const google::protobuf::Timestamp& time) {
    return absl::FormatTime("%Y-%m-%d %H:%M UTC", absl::FromUnixSeconds(time.seconds()),
                            absl::UTCTimeZone());
  };
  switch (revocation.status()) {
    case v1::REVOCATION_GOOD:
      return absl::StrCat("good (", OrDash(revocation.source()),
                          revocation.has_this_update()
                              ? absl::StrCat(", issued ", day(revocation.this_update()))
                              : "",
                          ")");
    case v1::REVOCATION_REVOKED:
      return absl::StrCat(
          "REVOKED",
          revocation.has_revoked_at() ? absl::StrCat(" on ", day(revocation.revoked_at())) : "",
          revocation.reason().empty() ? "" : absl::StrCat(" (", revocation.reason(), ")"));
    case v1::REVOCATION_STATUS_UNKNOWN:
      return absl::StrCat("UNKNOWN: ", OrDash(revocation.reason()));
    default:
      return "not checked";
  }
}

}  // namespace

std::string FormatSignatureTimestamp(const std::string& command,
                                     const v1::SignatureTimestamp& timestamp) {
  if (!timestamp.stamped()) {
    return absl::StrCat("signet: ", command, ": WARNING: the signature is NOT time-stamped: ",
                        OrDash(timestamp.problem()), "\n");
  }
  return absl::StrCat("signet: ", command, ": time-stamped by ", OrDash(timestamp.tsa()), " at ",
                      SecondsText(timestamp.time()), " (serial ", OrDash(timestamp.serial_hex()),
                      ")\n");
}

namespace {

// The stamp's verdict, next to the signer's name: VALID moves the time the
// chain is judged at, which the reader must know to read "trusted" right.
std::string TimestampText(const v1::TimestampReport& timestamp) {
  if (timestamp.status() == v1::TIMESTAMP_VALID) {
    return absl::StrCat("valid at ", SecondsText(timestamp.time()), " (time-stamped by ",
                        OrDash(timestamp.tsa()), "; the chain judged as of then)");
  }
  return absl::StrCat("INVALID, proves nothing: ", OrDash(timestamp.detail()));
}

bool HasStamp(const v1::Signer& signer) {
  return signer.timestamp().status() == v1::TIMESTAMP_VALID ||
         signer.timestamp().status() == v1::TIMESTAMP_INVALID;
}

}  // namespace

std::string FormatSigners(const v1::MailResponse::Header& header) {
  const bool several = header.signers_size() > 1;
  const bool matches =
      std::any_of(header.signers().begin(), header.signers().end(),
                  [](const v1::Signer& signer) { return signer.from_matches_signer(); });
  const std::string whom = several ? "any signer" : "the signer";
  // The forged-sender case first, on a line of its own: a signature that
  // verifies tells the reader nothing about a From: its signer never claimed.
  std::string text;
  std::string from;
  if (header.from_address().empty()) {
    const std::string why = OrDash(header.from_problem());
    absl::StrAppend(&text, "WARNING: the sender is not verified: ", why, "\n");
    from = absl::StrCat("- (", why, ")");
  } else if (!matches) {
    absl::StrAppend(&text, "WARNING: the From: address ", header.from_address(),
                    " is NOT an address of ", whom, "\n");
    from = absl::StrCat(header.from_address(), " (NOT an address of ", whom, ")");
  } else {
    from = absl::StrCat(header.from_address(), " (an address of ",
                        several ? "a signer" : "the signer", ")");
  }
  // A stamp that does not check is as suspect as a forged From:, and as
  // easily missed further down.
  for (const v1::Signer& signer : header.signers()) {
    if (signer.timestamp().status() == v1::TIMESTAMP_INVALID) {
      absl::StrAppend(&text, "WARNING: the time-stamp of ", OrDash(signer.subject()),
                      " is INVALID: ", OrDash(signer.timestamp().detail()), "\n");
    }
  }
  absl::StrAppend(&text, "Verified ", header.opaque() ? "opaque signed-data" : "multipart/signed",
                  " mail, ", header.signers_size(), several ? " signers" : " signer", ":\n");
  absl::StrAppend(&text, "  From:       ", from, "\n");
  for (const v1::Signer& signer : header.signers()) {
    absl::StrAppend(&text, "  signer:     ", OrDash(signer.subject()), "\n");
    if (HasStamp(signer)) {
      absl::StrAppend(&text, "  time-stamp: ", TimestampText(signer.timestamp()), "\n");
    }
    if (several) {
      absl::StrAppend(&text, "  From match: ", YesNo(signer.from_matches_signer()), "\n");
    }
    if (signer.email_addresses_size() > 0) {
      absl::StrAppend(&text, "  email:      ", absl::StrJoin(signer.email_addresses(), ", "), "\n");
    }
    absl::StrAppend(&text, "  issuer:     ", OrDash(signer.issuer()), "\n");
    absl::StrAppend(&text, "  serial:     ", OrDash(signer.serial_hex()), "\n");
    if (signer.has_signing_time()) {
      absl::StrAppend(&text, "  signed at:  ", SecondsText(signer.signing_time()),
                      " (the signer's claim)\n");
    }
    absl::StrAppend(&text, "  algorithms: ", OrDash(signer.digest_algorithm()), " with ",
                    OrDash(signer.signature_algorithm()), "\n");
    std::string chain = signer.chain_status() == v1::TRUSTED ? "trusted" : "NOT TRUSTED";
    if (!signer.chain_detail().empty()) absl::StrAppend(&chain, ": ", signer.chain_detail());
    if (signer.chain_size() > 0) {
      absl::StrAppend(&chain, " (", absl::StrJoin(signer.chain(), " < "), ")");
    }
    absl::StrAppend(&text, "  chain:      ", chain, "\n");
    for (const v1::CertificateRevocation& revocation : signer.revocation()) {
      if (revocation.status() == v1::REVOCATION_NOT_CHECKED) continue;
      absl::StrAppend(&text, "  revocation: ", OrDash(revocation.subject()), ": ",
                      RevocationText(revocation), "\n");
    }
  }
  return text;
}

std::string FormatTokens(const v1::ListTokensResponse& tokens) {
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "STATE", "IN FLIGHT", "LABEL", "SERIAL", "MODEL", "DETAIL"}};
  for (const v1::Token& token : tokens.tokens()) {
    rows.push_back({token.name(), TokenStateName(token.state()),
                    absl::StrCat(token.operations_in_flight(), "/", token.max_in_flight()),
                    OrDash(token.label()), OrDash(token.serial()),
                    OrDash(std::string(absl::StripAsciiWhitespace(
                        absl::StrCat(token.manufacturer(), " ", token.model())))),
                    token.state_detail()});
  }
  return Table(rows);
}

std::string FormatKeys(const v1::ListKeysResponse& keys) {
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "TOKEN", "ALGORITHM", "PURPOSE", "LABEL", "ID", "CERTIFICATES"}};
  for (const v1::Key& key : keys.keys()) {
    rows.push_back({key.name(), key.token(), AlgorithmName(key.algorithm()),
                    PurposeName(key.purpose()), OrDash(key.label()),
                    OrDash(absl::BytesToHexString(key.id())),
                    absl::StrCat(key.certificate_chain_size())});
  }
  return Table(rows);
}

std::string FormatKey(const v1::Key& key) {
  std::string text = Table({
      {"name:", key.name()},
      {"token:", key.token()},
      {"algorithm:", AlgorithmName(key.algorithm())},
      {"purpose:", PurposeName(key.purpose())},
      {"label:", OrDash(key.label())},
      {"id:", OrDash(absl::BytesToHexString(key.id()))},
      {"sensitive:", YesNo(key.sensitive())},
      {"extractable:", YesNo(key.extractable())},
      {"always sensitive:", YesNo(key.always_sensitive())},
      {"never extractable:", YesNo(key.never_extractable())},
      {"always authenticate:", YesNo(key.always_authenticate())},
      {"certificates:", absl::StrCat(key.certificate_chain_size())},
  });
  if (!key.public_key().empty()) absl::StrAppend(&text, PemEncode("PUBLIC KEY", key.public_key()));
  for (const std::string& certificate : key.certificate_chain()) {
    absl::StrAppend(&text, PemEncode("CERTIFICATE", certificate));
  }
  return text;
}

std::string FormatGeneratedKey(const v1::GeneratedKey& key) {
  std::string text = Table({
      {"token:", key.token()},
      {"label:", key.label()},
      {"id:", OrDash(absl::BytesToHexString(key.id()))},
  });
  if (!key.public_key().empty()) absl::StrAppend(&text, PemEncode("PUBLIC KEY", key.public_key()));
  return text;
}

std::string FormatResolvedRecipients(absl::string_view operation,
                                     const v1::MailResponse::Header& header) {
  std::string text;
  for (const v1::ResolvedRecipient& recipient : header.resolved_recipients()) {
    absl::StrAppend(&text, "signet: ", operation, ": to ", recipient.address(), ": certificate ",
                    recipient.sha256().substr(0, 16), "... from ", recipient.source(), "\n");
  }
  for (const v1::UnresolvedRecipient& recipient : header.unresolved_recipients()) {
    absl::StrAppend(&text, "signet: ", operation, ": left out ", recipient.address(), ": ",
                    recipient.reason(), "\n");
  }
  return text;
}

}  // namespace signet::cli
