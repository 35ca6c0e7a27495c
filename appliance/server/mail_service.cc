#include "appliance/server/mail_service.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "appliance/cms/decryptor.h"
#include "appliance/cms/mail_encryptor.h"
#include "appliance/cms/mail_signer.h"
#include "appliance/cms/recipient_check.h"
#include "appliance/cms/signed_data.h"
#include "appliance/cms/verifier.h"
#include "appliance/directory/recipient_algorithms.h"
#include "appliance/server/admission.h"
#include "appliance/server/audited.h"
#include "appliance/server/call_deadline.h"
#include "appliance/server/call_log.h"
#include "appliance/server/certificate_directory.h"
#include "appliance/server/exception_status.h"
#include "appliance/server/grpc_status.h"
#include "appliance/server/mail_call.h"
#include "appliance/server/proto_time.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "google/protobuf/util/time_util.h"

namespace signet::server {
namespace {

using config::v1::Operation;

// A key the caller may use for `operation`, of the purpose it needs.
absl::StatusOr<std::shared_ptr<const ConfiguredKey>> KeyFor(Appliance& appliance,
                                                            const std::string& caller,
                                                            const std::string& name,
                                                            Operation operation,
                                                            config::v1::KeyPurpose purpose) {
  if (name.empty()) return absl::InvalidArgumentError("no key named in the request");
  // Authorization first: an unauthorized caller learns nothing about keys.
  RETURN_IF_ERROR(appliance.authorizer().Check(caller, name, operation));
  ASSIGN_OR_RETURN(std::shared_ptr<const ConfiguredKey> key, appliance.keys().Get(name));
  if (key->config.purpose() != purpose) {
    return absl::InvalidArgumentError(absl::StrCat(
        "key '", name, "' is a ", config::v1::KeyPurpose_Name(key->config.purpose()), " key"));
  }
  if (key->chain.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("key '", name,
                     "' has no certificate yet: import one (ImportCertificate) before mail "
                     "operations can use it"));
  }
  if (appliance.audit() == nullptr || !appliance.audit()->status().ok()) {
    return absl::UnavailableError("the audit log cannot be written: key operations are stopped");
  }
  return key;
}

v1::RevocationStatus StatusOf(pki::RevocationState state) {
  switch (state) {
    case pki::RevocationState::kNotChecked:
      return v1::REVOCATION_NOT_CHECKED;
    case pki::RevocationState::kGood:
      return v1::REVOCATION_GOOD;
    case pki::RevocationState::kRevoked:
      return v1::REVOCATION_REVOKED;
    case pki::RevocationState::kUnknown:
      return v1::REVOCATION_STATUS_UNKNOWN;
  }
  return v1::REVOCATION_STATUS_UNSPECIFIED;
}

void AddRevocation(const cms::SignerReport& report, v1::Signer& signer) {
  for (size_t i = 0; i < report.revocation.size(); ++i) {
    const pki::RevocationResult& result = report.revocation[i];
    v1::CertificateRevocation* out = signer.add_revocation();
    if (i < report.chain.size()) out->set_subject(report.chain[i]);
    out->set_status(StatusOf(result.state));
    out->set_source(result.source);
    if (result.this_update.has_value())
      *out->mutable_this_update() = TimestampOf(*result.this_update);
    if (result.revoked_at.has_value()) *out->mutable_revoked_at() = TimestampOf(*result.revoked_at);
    out->set_reason(result.reason);
  }
}

void AddTimestamp(const cms::TimestampCheck& check, v1::TimestampReport& report) {
  switch (check.state) {
    case cms::TimestampState::kNone:
      report.set_status(v1::TIMESTAMP_NONE);
      return;
    case cms::TimestampState::kValid:
      report.set_status(v1::TIMESTAMP_VALID);
      break;
    case cms::TimestampState::kInvalid:
      report.set_status(v1::TIMESTAMP_INVALID);
      break;
  }
  if (check.time != absl::InfinitePast()) *report.mutable_time() = TimestampOf(check.time);
  report.set_tsa(check.tsa);
  report.set_policy(check.policy);
  report.set_serial_hex(check.serial_hex);
  report.set_detail(check.detail);
}

// The caller, named in the call's log line as soon as it is known.
absl::StatusOr<std::string> AdmitLogged(grpc::CallbackServerContext& context, Appliance& appliance,
                                        CallLog& log) {
  absl::StatusOr<std::string> caller = AdmitCaller(context, appliance);
  if (caller.ok()) log.set_caller(*caller);
  return caller;
}

MailCallLimits MailLimitsOf(Appliance& appliance) {
  return {.max_bytes = appliance.limits().max_message_bytes,
          .budget = &appliance.buffers(),
          .idle_watch = &appliance.idle_watch()};
}

cms::Signer SignerOf(const ConfiguredKey& key) {
  cms::Signer signer{.key = key.key.get(),
                     .certificate = key.chain.front().get(),
                     .templates = key.templates.get()};
  for (size_t i = 1; i < key.chain.size(); ++i) signer.chain.push_back(key.chain[i].get());
  return signer;
}

cms::DigestAlgorithm DigestOf(v1::DigestAlgorithm digest) {
  switch (digest) {
    case v1::SHA384:
      return cms::DigestAlgorithm::kSha384;
    case v1::SHA512:
      return cms::DigestAlgorithm::kSha512;
    default:
      return cms::DigestAlgorithm::kSha256;
  }
}

cms::MailSignOptions SignOptionsOf(const v1::SignOptions& options) {
  cms::MailSignOptions converted;
  converted.sign.digest = DigestOf(options.digest());
  converted.sign.rsa_pss = options.rsa_pss();
  converted.form =
      options.form() == v1::OPAQUE ? cms::SignedForm::kOpaque : cms::SignedForm::kMultipartSigned;
  return converted;
}

// Recipient certificates (parsed, owned) and the encryption options.
struct Encryption {
  // Given as certificates: validated before use unless skipped.
  std::vector<X509Ptr> recipients;
  cms::EncryptOptions options;
  // The caller asked to skip the recipient validation and may.
  bool skip_validation = false;
  // Given as addresses, resolved through the directory (which validates
  // what it returns) before the mail is encrypted: ResolveAddresses.
  std::vector<std::string> addresses;
  bool skip_unresolved = false;
  // The request set these itself; otherwise they follow the capabilities
  // the resolved recipients advertised.
  bool cipher_chosen = false;
  bool key_transport_chosen = false;
  std::vector<X509Ptr> resolved;
  // What the response header says of the addresses.
  v1::MailResponse::Header report;

  std::vector<X509*> Recipients() const {
    std::vector<X509*> raw;
    for (const X509Ptr& certificate : recipients) raw.push_back(certificate.get());
    for (const X509Ptr& certificate : resolved) raw.push_back(certificate.get());
    return raw;
  }
  std::vector<X509*> GivenRecipients() const {
    std::vector<X509*> raw;
    for (const X509Ptr& certificate : recipients) raw.push_back(certificate.get());
    return raw;
  }
};

// The status of a call whose recipient addresses did not all resolve,
// carrying them for ErrorDetails.unresolved_recipients.
absl::Status UnresolvedError(const std::vector<v1::UnresolvedRecipient>& unresolved) {
  std::string message =
      absl::StrCat("no usable certificate for ", unresolved.size(), " recipient address(es): ");
  for (size_t i = 0; i < unresolved.size() && i < 5; ++i) {
    absl::StrAppend(&message, i ? "; " : "", unresolved[i].address(), " (",
                    unresolved[i].reason().substr(0, 200), ")");
  }
  if (unresolved.size() > 5) absl::StrAppend(&message, "; ...");
  absl::Status status = absl::InvalidArgumentError(message);
  // gRPC clients refuse a status over 8 KiB of metadata by default (the
  // details travel base64-encoded, with the message beside them): 1,000
  // unresolved addresses would make the call fail as a whole, with no list.
  constexpr size_t kDetailsBudget = 4096;
  v1::ErrorDetails details;
  size_t listed = 0;
  for (const v1::UnresolvedRecipient& recipient : unresolved) {
    v1::UnresolvedRecipient entry;
    entry.set_address(recipient.address().substr(0, 320));
    entry.set_reason(recipient.reason().substr(0, 200));
    if (details.ByteSizeLong() + entry.ByteSizeLong() + 4 > kDetailsBudget) break;
    *details.add_unresolved_recipients() = std::move(entry);
    ++listed;
  }
  details.set_omitted_unresolved_recipients(static_cast<int32_t>(unresolved.size() - listed));
  SetErrorDetails(status, details);
  return status;
}

// Looks the request's recipient addresses up (on the directory's queue: it
// may wait on LDAP and DNS) and adds their certificates; the cipher and key
// transport the request left open follow what every recipient can read.
absl::Status ResolveAddresses(Appliance& appliance, Encryption& encryption) {
  if (encryption.addresses.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(ResolvedRecipients found, appliance.directory()->Resolve(encryption.addresses));
  if (!found.unresolved.empty() && !encryption.skip_unresolved) {
    return UnresolvedError(found.unresolved);
  }
  if (found.certificates.empty() && encryption.recipients.empty()) {
    return UnresolvedError(found.unresolved);
  }
  const directory::ChosenAlgorithms chosen = directory::ChooseAlgorithms(found.algorithms);
  if (!encryption.cipher_chosen) encryption.options.cipher = chosen.cipher;
  if (!encryption.key_transport_chosen) {
    encryption.options.rsa_key_transport = chosen.rsa_key_transport;
  }
  encryption.resolved = std::move(found.certificates);
  for (v1::ResolvedRecipient& recipient : found.resolved) {
    *encryption.report.add_resolved_recipients() = std::move(recipient);
  }
  for (v1::UnresolvedRecipient& recipient : found.unresolved) {
    *encryption.report.add_unresolved_recipients() = std::move(recipient);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<Encryption>> EncryptionOf(Appliance& appliance,
                                                         const std::string& caller,
                                                         const v1::EncryptOptions& options) {
  auto encryption = std::make_shared<Encryption>();
  // Skipping is the caller's configured right, asked for per request: never
  // a default, so that a caller allowed to skip still validates unless it
  // says otherwise.
  if (options.skip_recipient_validation()) {
    if (!appliance.authorizer().MaySkipRecipientValidation(caller)) {
      return absl::PermissionDeniedError(
          absl::StrCat("caller '", caller,
                       "' may not skip the validation of recipient certificates "
                       "(encrypt_skip_recipient_validation)"));
    }
    encryption->skip_validation = true;
    Log(LogLevel::kInfo,
        absl::StrCat("caller '", caller, "' encrypts to ", options.recipient_certificates_size(),
                     " recipient certificate(s) without validating them"));
  } else if (appliance.recipient_trust() == nullptr) {
    return absl::FailedPreconditionError(
        "the appliance has no recipient trust anchors configured "
        "(validation.recipient_trust_anchors_file or trust_anchors_file), so no recipient "
        "certificate can be validated");
  }
  if (!options.recipient_addresses().empty()) {
    if (appliance.directory() == nullptr) {
      return absl::FailedPreconditionError(
          "recipients by address need the certificate directory (directory.store_path)");
    }
    RETURN_IF_ERROR(appliance.authorizer().Check(caller, "", config::v1::LOOKUP_CERTIFICATES));
    if (options.recipient_addresses_size() > kMaxRecipientAddresses) {
      return absl::InvalidArgumentError(
          absl::StrCat("a call may name at most ", kMaxRecipientAddresses, " recipient addresses"));
    }
    encryption->addresses.assign(options.recipient_addresses().begin(),
                                 options.recipient_addresses().end());
    encryption->skip_unresolved = options.skip_unresolved_recipients();
  } else if (options.recipient_certificates().empty()) {
    return absl::InvalidArgumentError("no recipient: give certificates or addresses");
  }
  encryption->cipher_chosen = options.cipher() != v1::CONTENT_CIPHER_UNSPECIFIED;
  encryption->key_transport_chosen =
      options.rsa_key_transport() != v1::RSA_KEY_TRANSPORT_UNSPECIFIED;
  for (const std::string& der : options.recipient_certificates()) {
    const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
    X509Ptr certificate(d2i_X509(nullptr, &cursor, static_cast<long>(der.size())));
    if (!certificate || cursor != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
      ERR_clear_error();
      return absl::InvalidArgumentError(absl::StrCat(
          "recipient certificate ", encryption->recipients.size() + 1, " is not DER X.509"));
    }
    encryption->recipients.push_back(std::move(certificate));
  }
  switch (options.cipher()) {
    case v1::AES_128_GCM:
      encryption->options.cipher = cms::ContentCipher::kAes128Gcm;
      break;
    case v1::AES_256_CBC:
      encryption->options.cipher = cms::ContentCipher::kAes256Cbc;
      break;
    case v1::AES_128_CBC:
      encryption->options.cipher = cms::ContentCipher::kAes128Cbc;
      break;
    default:
      encryption->options.cipher = cms::ContentCipher::kAes256Gcm;
  }
  encryption->options.rsa_key_transport = options.rsa_key_transport() == v1::RSA_PKCS1
                                              ? cms::RsaKeyTransport::kPkcs1
                                              : cms::RsaKeyTransport::kOaepSha256;
  return encryption;
}

// Every recipient certificate validated (unless skipped), before anything
// is encrypted to them.
absl::Status ValidateRecipients(Appliance& appliance, const cms::CmsContext& context,
                                const Encryption& encryption) {
  if (encryption.skip_validation || encryption.recipients.empty()) return absl::OkStatus();
  return cms::CheckRecipients(context, *appliance.recipient_trust(), encryption.GivenRecipients(),
                              {.validation = &appliance.validation()});
}

MailOutput BodyOnly(cms::MailPieces body) {
  MailOutput output;
  output.body = std::move(body);
  return output;
}

MailOutput BodyOnly(std::string body) { return BodyOnly(cms::MailPieces::Of(std::move(body))); }

// The time-stamping a signing call gets: the key's when the request asks
// or the key stamps always; FAILED_PRECONDITION when asked of a key without.
absl::StatusOr<std::shared_ptr<const KeyStamping>> StampingFor(const Appliance& appliance,
                                                               const ConfiguredKey& key,
                                                               bool asked) {
  std::shared_ptr<const KeyStamping> stamping = appliance.stamping(key.config.name());
  if (stamping == nullptr) {
    if (!asked) return nullptr;
    return absl::FailedPreconditionError(
        absl::StrCat("key '", key.config.name(),
                     "' has no time-stamping configured (keys[].timestamps), so a time-stamp "
                     "cannot be added"));
  }
  if (asked || stamping->always) return stamping;
  return nullptr;
}

// What an audit record says of a stamp.
audit::AuditEvent StampNotes(const v1::SignatureTimestamp& report,
                             bool recipient_validation_skipped) {
  audit::AuditEvent notes;
  notes.recipient_validation_skipped = recipient_validation_skipped;
  notes.timestamp_serial_hex = report.serial_hex();
  notes.timestamp_tsa = report.tsa();
  notes.timestamp_problem = report.problem();
  return notes;
}

// Turns a stamped mail into the call's final output (SignAndEncryptMail
// encrypts it); null: the stamped mail is the output.
using AfterStamp =
    std::function<absl::StatusOr<std::string>(const cms::CmsContext&, std::string stamped)>;

// Signs a mail it is given (by move: the result may refer to it).
using SignWork =
    std::function<absl::StatusOr<cms::MailPieces>(const cms::CmsContext&, std::string mail)>;

// A signing operation on `mail` (SignMail, SignAndEncryptMail), audited,
// after the key's sender binding has been checked against the mail's From.
// The record's digest of the mail is taken before `sign` is given the mail.
// With `stamping`, only the signature is made here, on the token's worker;
// the time-stamp (and `after_stamp`) follow on the stamp workers, and the
// audit record, written once the stamp is settled, says how it went.
void SignAudited(Appliance& appliance, const std::string& caller, const ConfiguredKey& key,
                 std::string mail, const SignWork& sign, MailDone done,
                 bool recipient_validation_skipped = false,
                 std::shared_ptr<const KeyStamping> stamping = nullptr,
                 AfterStamp after_stamp = nullptr,
                 std::shared_ptr<const Encryption> encryption = nullptr) {
  const cms::CmsContext context{.libctx = appliance.keys().libctx(), .limits = appliance.limits()};
  if (stamping == nullptr) {
    AuditedAsync<MailOutput>(
        appliance, caller, config::v1::SIGN_MAIL, key.config.name(), mail,
        [&]() -> absl::StatusOr<MailOutput> {
          RETURN_IF_ERROR(appliance.authorizer().CheckSender(key.config.name(), mail));
          ASSIGN_OR_RETURN(cms::MailPieces output, sign(context, std::move(mail)));
          MailOutput answer = BodyOnly(std::move(output));
          if (encryption != nullptr) answer.header.MergeFrom(encryption->report);
          return answer;
        },
        std::move(done), StampNotes({}, recipient_validation_skipped));
    return;
  }
  const std::string digest = audit::InputDigest(mail);
  // The stamp is added to the signed mail as one string.
  auto signed_output = std::make_shared<absl::StatusOr<std::string>>(
      ResultCatching<absl::StatusOr<std::string>>([&]() -> absl::StatusOr<std::string> {
        RETURN_IF_ERROR(appliance.authorizer().CheckSender(key.config.name(), mail));
        ASSIGN_OR_RETURN(cms::MailPieces output, sign(context, std::move(mail)));
        return std::move(output).Flatten();
      }));
  const std::string key_name = key.config.name();
  auto finish = [&appliance, caller, key_name, digest, recipient_validation_skipped, encryption](
                    StampedOutput stamped, MailDone finished) {
    const audit::AuditEvent notes = StampNotes(stamped.report, recipient_validation_skipped);
    AuditedAsyncWithDigest<MailOutput>(
        appliance, caller, config::v1::SIGN_MAIL, key_name, digest,
        [&]() -> absl::StatusOr<MailOutput> {
          if (!stamped.output.ok()) return stamped.output.status();
          MailOutput output = BodyOnly(std::move(*stamped.output));
          *output.header.mutable_timestamp() = stamped.report;
          if (encryption != nullptr) output.header.MergeFrom(encryption->report);
          return output;
        },
        std::move(finished), notes);
  };
  // StampingFor gave a stamping, so some key stamps and the queue exists.
  absl::Status queued = appliance.StampQueue()->Submit(
      absl::InfiniteFuture(),
      [context, signed_output, stamping, after_stamp, finish, done](absl::Status start) {
        StampedOutput stamped;
        if (!start.ok()) {
          stamped.output = start;
        } else if (!signed_output->ok()) {
          stamped.output = signed_output->status();
        } else {
          stamped =
              StampSignatures(*stamping, context, std::move(**signed_output), SignedKind::kMail);
          if (stamped.output.ok() && after_stamp) {
            stamped.output = ResultCatching<absl::StatusOr<std::string>>(
                [&] { return after_stamp(context, std::move(*stamped.output)); });
          }
        }
        finish(std::move(stamped), done);
      });
  if (!queued.ok()) finish({.output = queued}, std::move(done));
}

}  // namespace

grpc::ServerBidiReactor<v1::SignMailRequest, v1::MailResponse>* MailService::SignMail(
    grpc::CallbackServerContext* context) {
  Appliance& appliance = appliance_;
  return new MailCall<v1::SignMailRequest>(
      context, "SignMail", MailLimitsOf(appliance),
      [context, &appliance](const v1::SignMailRequest::Header& header,
                            CallLog& log) -> absl::StatusOr<MailPlan> {
        log.set_key(header.key());
        ASSIGN_OR_RETURN(std::string caller, AdmitLogged(*context, appliance, log));
        ASSIGN_OR_RETURN(
            std::shared_ptr<const ConfiguredKey> key,
            KeyFor(appliance, caller, header.key(), config::v1::SIGN_MAIL, config::v1::SIGN));
        const std::string token = key->config.token();
        const cms::MailSignOptions options = SignOptionsOf(header.options());
        ASSIGN_OR_RETURN(std::shared_ptr<const KeyStamping> stamping,
                         StampingFor(appliance, *key, header.options().timestamp()));
        return MailPlan{
            caller, &appliance.TokenQueue(token), token,
            [&appliance, caller, key, options, stamping](std::string mail, MailDone done) {
              // The result of a multipart/signed mail refers to the mail
              // instead of copying it (cms::SignOwnedMail).
              SignAudited(
                  appliance, caller, *key, std::move(mail),
                  [&](const cms::CmsContext& cms_context, std::string given) {
                    return cms::SignOwnedMail(cms_context, std::move(given), SignerOf(*key),
                                              options);
                  },
                  std::move(done), false, stamping);
            }};
      });
}

grpc::ServerBidiReactor<v1::EncryptMailRequest, v1::MailResponse>* MailService::EncryptMail(
    grpc::CallbackServerContext* context) {
  Appliance& appliance = appliance_;
  return new MailCall<v1::EncryptMailRequest>(
      context, "EncryptMail", MailLimitsOf(appliance),
      [context, &appliance](const v1::EncryptMailRequest::Header& header,
                            CallLog& log) -> absl::StatusOr<MailPlan> {
        ASSIGN_OR_RETURN(std::string caller, AdmitLogged(*context, appliance, log));
        RETURN_IF_ERROR(appliance.authorizer().Check(caller, "", config::v1::ENCRYPT_MAIL));
        ASSIGN_OR_RETURN(std::shared_ptr<Encryption> encryption,
                         EncryptionOf(appliance, caller, header.options()));
        MailPlan plan{caller, &appliance.CpuQueue(), "",
                      AnswerOnWorker([&appliance,
                                      encryption](std::string mail) -> absl::StatusOr<MailOutput> {
                        const cms::CmsContext cms_context{.libctx = appliance.keys().libctx(),
                                                          .limits = appliance.limits()};
                        RETURN_IF_ERROR(ValidateRecipients(appliance, cms_context, *encryption));
                        // The mail is given away: encrypted where it lies, and
                        // the result's base64 made as it is written out.
                        ASSIGN_OR_RETURN(cms::MailPieces encrypted,
                                         cms::EncryptOwnedMailPieces(cms_context, std::move(mail),
                                                                     encryption->Recipients(),
                                                                     encryption->options));
                        MailOutput output = BodyOnly(std::move(encrypted));
                        output.header.MergeFrom(encryption->report);
                        return output;
                      })};
        if (!encryption->addresses.empty()) {
          plan.prepare_queue = &appliance.directory()->queue();
          plan.prepare = [&appliance, encryption] {
            return ResolveAddresses(appliance, *encryption);
          };
        }
        return plan;
      });
}

grpc::ServerBidiReactor<v1::SignAndEncryptMailRequest, v1::MailResponse>*
MailService::SignAndEncryptMail(grpc::CallbackServerContext* context) {
  Appliance& appliance = appliance_;
  return new MailCall<v1::SignAndEncryptMailRequest>(
      context, "SignAndEncryptMail", MailLimitsOf(appliance),
      [context, &appliance](const v1::SignAndEncryptMailRequest::Header& header,
                            CallLog& log) -> absl::StatusOr<MailPlan> {
        log.set_key(header.signing_key());
        ASSIGN_OR_RETURN(std::string caller, AdmitLogged(*context, appliance, log));
        ASSIGN_OR_RETURN(std::shared_ptr<const ConfiguredKey> key,
                         KeyFor(appliance, caller, header.signing_key(), config::v1::SIGN_MAIL,
                                config::v1::SIGN));
        RETURN_IF_ERROR(appliance.authorizer().Check(caller, "", config::v1::ENCRYPT_MAIL));
        ASSIGN_OR_RETURN(std::shared_ptr<Encryption> encryption,
                         EncryptionOf(appliance, caller, header.encrypt()));
        const std::string token = key->config.token();
        const cms::MailSignOptions options = SignOptionsOf(header.sign());
        ASSIGN_OR_RETURN(std::shared_ptr<const KeyStamping> stamping,
                         StampingFor(appliance, *key, header.sign().timestamp()));
        MailPlan plan{
            caller, &appliance.TokenQueue(token), token,
            [&appliance, caller, key, options, encryption, stamping](std::string mail,
                                                                     MailDone done) {
              if (stamping == nullptr) {
                SignAudited(
                    appliance, caller, *key, std::move(mail),
                    [&](const cms::CmsContext& cms_context, std::string given) {
                      // Signed and encrypted where the body lies in the
                      // mail when it can be (cms::SignAndEncryptOwnedMailPieces).
                      return cms::SignAndEncryptOwnedMailPieces(
                          cms_context, std::move(given), SignerOf(*key), options,
                          encryption->Recipients(), encryption->options);
                    },
                    std::move(done), encryption->skip_validation, nullptr, nullptr, encryption);
                return;
              }
              // The stamp goes inside the envelope: signed on the token,
              // stamped, then encrypted on the CPU workers.
              SignAudited(
                  appliance, caller, *key, std::move(mail),
                  [&](const cms::CmsContext& cms_context, std::string given) {
                    return cms::SignOwnedMail(cms_context, std::move(given), SignerOf(*key),
                                              options);
                  },
                  std::move(done), encryption->skip_validation, stamping,
                  [encryption](const cms::CmsContext& cms_context, std::string stamped) {
                    // Given away: encrypted where it lies, not copied first.
                    return cms::EncryptOwnedMail(cms_context, std::move(stamped),
                                                 encryption->Recipients(), encryption->options);
                  },
                  encryption);
            }};
        // Before signing, and off the token's queue: a recipient's CRL or
        // OCSP answer may take a fetch, and a refused recipient gets
        // nothing signed.
        plan.prepare_queue =
            encryption->addresses.empty() ? &appliance.CpuQueue() : &appliance.directory()->queue();
        plan.prepare = [&appliance, encryption] {
          RETURN_IF_ERROR(ResolveAddresses(appliance, *encryption));
          return ValidateRecipients(
              appliance, {.libctx = appliance.keys().libctx(), .limits = appliance.limits()},
              *encryption);
        };
        return plan;
      });
}

grpc::ServerBidiReactor<v1::DecryptMailRequest, v1::MailResponse>* MailService::DecryptMail(
    grpc::CallbackServerContext* context) {
  Appliance& appliance = appliance_;
  return new MailCall<v1::DecryptMailRequest>(
      context, "DecryptMail", MailLimitsOf(appliance),
      [context, &appliance](const v1::DecryptMailRequest::Header& header,
                            CallLog& log) -> absl::StatusOr<MailPlan> {
        log.set_key(header.key());
        ASSIGN_OR_RETURN(std::string caller, AdmitLogged(*context, appliance, log));
        ASSIGN_OR_RETURN(
            std::shared_ptr<const ConfiguredKey> key,
            KeyFor(appliance, caller, header.key(), config::v1::DECRYPT_MAIL, config::v1::DECRYPT));
        const std::string token = key->config.token();
        return MailPlan{
            caller, &appliance.TokenQueue(token), token,
            [&appliance, caller, key](std::string mail, MailDone done) {
              // The record's input digest is taken before the work runs, so
              // the work may have the mail: it is freed once decoded.
              AuditedAsync<MailOutput>(
                  appliance, caller, config::v1::DECRYPT_MAIL, key->config.name(), mail,
                  [&]() -> absl::StatusOr<MailOutput> {
                    ASSIGN_OR_RETURN(
                        cms::DecryptedMail decrypted,
                        cms::DecryptOwnedMail(
                            {.libctx = appliance.keys().libctx(), .limits = appliance.limits()},
                            std::move(mail),
                            {.key = key->key.get(), .certificate = key->chain.front().get()}));
                    MailOutput output = BodyOnly(std::move(decrypted.mail));
                    output.header.set_authenticated(decrypted.authenticated);
                    return output;
                  },
                  std::move(done));
            }};
      });
}

grpc::ServerBidiReactor<v1::VerifyMailRequest, v1::MailResponse>* MailService::VerifyMail(
    grpc::CallbackServerContext* context) {
  Appliance& appliance = appliance_;
  return new MailCall<v1::VerifyMailRequest>(
      context, "VerifyMail", MailLimitsOf(appliance),
      [context, &appliance](const v1::VerifyMailRequest::Header& header,
                            CallLog& log) -> absl::StatusOr<MailPlan> {
        ASSIGN_OR_RETURN(std::string caller, AdmitLogged(*context, appliance, log));
        RETURN_IF_ERROR(appliance.authorizer().Check(caller, "", config::v1::VERIFY_MAIL));
        if (appliance.trust() == nullptr) {
          return absl::FailedPreconditionError("the appliance has no trust anchors configured");
        }
        // The caller's configured requirement only adds to the request's: a
        // gateway whose policy is to refuse forged senders cannot be talked
        // out of it by one request.
        cms::VerifyOptions options{
            .require_trusted_chain = header.require_trusted_chain(),
            .validation = &appliance.validation(),
            .check_timestamp = appliance.timestamp_checker(),
            .require_sender_match = header.require_sender_match() ||
                                    appliance.authorizer().VerifyRequiresSenderMatch(caller)};
        if (header.has_at()) {
          options.at = absl::FromUnixSeconds(header.at().seconds());
        }
        return MailPlan{
            caller, &appliance.CpuQueue(), "",
            AnswerOnWorker([&appliance, options](std::string mail) -> absl::StatusOr<MailOutput> {
              // The signed entity is answered from where it lies in the
              // mail when it can be (cms::VerifyOwnedMail).
              ASSIGN_OR_RETURN(cms::VerifiedOwnedMail verified_owned,
                               cms::VerifyOwnedMail({.libctx = appliance.keys().libctx(),
                                                     .limits = appliance.limits()},
                                                    std::move(mail), *appliance.trust(), options));
              const cms::VerifiedMail& verified = verified_owned.report;
              MailOutput output = BodyOnly(std::move(verified_owned.signed_entity));
              output.header.set_opaque(verified.opaque);
              output.header.set_from_address(verified.from_address);
              output.header.set_from_problem(verified.from_problem);
              for (const cms::SignerReport& report : verified.signers) {
                v1::Signer* signer = output.header.add_signers();
                signer->set_subject(report.subject);
                signer->set_issuer(report.issuer);
                signer->set_serial_hex(report.serial_hex);
                for (const std::string& email : report.email_addresses) {
                  signer->add_email_addresses(email);
                }
                if (report.signing_time.has_value()) {
                  *signer->mutable_signing_time() = TimestampOf(*report.signing_time);
                }
                signer->set_digest_algorithm(report.digest_algorithm);
                signer->set_signature_algorithm(report.signature_algorithm);
                signer->set_chain_status(report.chain_status == cms::ChainStatus::kTrusted
                                             ? v1::TRUSTED
                                             : v1::UNTRUSTED);
                signer->set_chain_detail(report.chain_detail);
                for (const std::string& subject : report.chain) signer->add_chain(subject);
                signer->set_from_matches_signer(report.from_matches_signer);
                AddRevocation(report, *signer);
                AddTimestamp(report.timestamp, *signer->mutable_timestamp());
              }
              if (CertificateDirectory* directory = appliance.directory();
                  directory != nullptr && directory->harvesting()) {
                for (std::string& address : directory->Harvest(verified)) {
                  output.header.add_harvested(std::move(address));
                }
              }
              return output;
            })};
      });
}

grpc::ServerUnaryReactor* MailService::SignDigest(grpc::CallbackServerContext* context,
                                                  const v1::SignDigestRequest* request,
                                                  v1::SignDigestResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Appliance& appliance = appliance_;
  auto log = std::make_shared<CallLog>("SignDigest", request->ByteSizeLong());
  log->set_key(request->key());
  auto finish = [reactor, log, response](const grpc::Status& status) {
    FinishUnary(*reactor, *log, status, *response);
  };
  absl::StatusOr<std::string> caller = AdmitLogged(*context, appliance, *log);
  if (!caller.ok()) {
    finish(ToGrpcStatus(caller.status()));
    return reactor;
  }
  absl::StatusOr<std::shared_ptr<const ConfiguredKey>> key =
      KeyFor(appliance, *caller, request->key(), config::v1::SIGN_DIGEST, config::v1::SIGN);
  if (key.ok()) {
    if (absl::Status unbound = appliance.authorizer().CheckDigestSigning(request->key());
        !unbound.ok()) {
      key = unbound;
    }
  }
  if (!key.ok()) {
    finish(ToGrpcStatus(key.status()));
    return reactor;
  }
  absl::StatusOr<std::shared_ptr<const KeyStamping>> stamping =
      StampingFor(appliance, **key, request->timestamp());
  if (!stamping.ok()) {
    finish(ToGrpcStatus(stamping.status()));
    return reactor;
  }
  const std::string token = (*key)->config.token();
  const absl::Time deadline = DeadlineOf(*context);
  absl::Status submitted = appliance.TokenQueue(token).Submit(
      deadline, [&appliance, finish, request, response, caller = *caller, key = *key, token,
                 stamping = *stamping, deadline](absl::Status start) {
        if (!start.ok()) return finish(ToGrpcStatus(start, token));
        const cms::DigestAlgorithm digest = DigestOf(request->digest_algorithm());
        const cms::CmsContext cms_context{.libctx = appliance.keys().libctx(),
                                          .limits = appliance.limits()};
        auto sign = [&]() {
          return cms::SignDigest(cms_context, request->digest(), SignerOf(*key),
                                 {.digest = digest, .rsa_pss = request->rsa_pss()});
        };
        auto answer = [finish, response, token, digest](absl::StatusOr<std::string> signature) {
          if (!signature.ok()) return finish(ToGrpcStatus(signature.status(), token));
          absl::Status answered = RunCatching([&] {
            response->set_signature(std::move(*signature));
            response->set_micalg(cms::Micalg(digest));
          });
          finish(answered.ok() ? grpc::Status::OK : ToGrpcStatus(answered, token));
        };
        // Each step answers the call once, whatever it throws (gRPC would
        // swallow an exception and leave the call unanswered).
        absl::Status failed = RunCatching([&] {
          if (stamping == nullptr) {
            AuditedAsync<std::string>(appliance, caller, config::v1::SIGN_DIGEST,
                                      key->config.name(), request->digest(), sign, answer);
            return;
          }
          // Only the signature on the token's worker; the stamp, and the
          // record that says how it went, on the stamp workers.
          auto signature = std::make_shared<absl::StatusOr<std::string>>(
              ResultCatching<absl::StatusOr<std::string>>(sign));
          auto record = [&appliance, caller, key_name = key->config.name(),
                         input = audit::InputDigest(request->digest()), response,
                         answer](StampedOutput stamped) {
            *response->mutable_timestamp() = stamped.report;
            AuditedAsyncWithDigest<std::string>(
                appliance, caller, config::v1::SIGN_DIGEST, key_name, input,
                [&] { return std::move(stamped.output); }, answer,
                StampNotes(stamped.report, false));
          };
          absl::Status queued = appliance.StampQueue()->Submit(
              deadline, [cms_context, signature, stamping, record](absl::Status cpu_start) {
                StampedOutput stamped;
                if (!cpu_start.ok()) {
                  stamped.output = cpu_start;
                } else if (!signature->ok()) {
                  stamped.output = signature->status();
                } else {
                  stamped = StampSignatures(*stamping, cms_context, std::move(**signature),
                                            SignedKind::kSignedData);
                }
                record(std::move(stamped));
              });
          if (!queued.ok()) record({.output = queued});
        });
        if (!failed.ok()) finish(ToGrpcStatus(failed, token));
      });
  if (!submitted.ok()) finish(ToGrpcStatus(submitted, token));
  return reactor;
}

}  // namespace signet::server
