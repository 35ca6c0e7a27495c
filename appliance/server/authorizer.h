// Default-deny authorization (docs/architecture.md, decision D14): a caller is
// recognised by its transport identity, and may use a key for an operation
// only where a grant of its configuration says so. A signing key may be
// bound to sender addresses, checked against the mail's From and Sender.
#ifndef SIGNET_APPLIANCE_SERVER_AUTHORIZER_H_
#define SIGNET_APPLIANCE_SERVER_AUTHORIZER_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "appliance/cms/mailbox_list.h"
#include "appliance/server/caller_identity.h"
#include "signet/config/v1/config.pb.h"

namespace signet::server {

class Authorizer {
 public:
  // The config must have passed ValidateConfig.
  explicit Authorizer(const config::v1::Config& config);

  // The configured caller's name; PERMISSION_DENIED for an identity no
  // caller has.
  absl::StatusOr<std::string> Identify(const CallerIdentity& identity) const;

  // OK when `caller` holds a grant of `operation` on `key` (empty key: an
  // operation that uses no key of the appliance); PERMISSION_DENIED naming
  // the caller, key and operation otherwise.
  absl::Status Check(absl::string_view caller, absl::string_view key,
                     config::v1::Operation operation) const;

  // OK when the key is not bound to senders, or when the mail says without
  // doubt that it is from one of the key's addresses: exactly one From
  // field naming exactly one mailbox (RFC 5322, cms/mailbox_list.h) that is
  // bound, and no Sender field or exactly one naming a bound mailbox.
  // PERMISSION_DENIED saying which of these failed otherwise.
  absl::Status CheckSender(absl::string_view key, absl::string_view mail) const;

  // PERMISSION_DENIED for a key bound to sender addresses: a digest does not
  // show whom the mail is from, so such a key signs whole mails only.
  absl::Status CheckDigestSigning(absl::string_view key) const;

  // Whether the configured caller's VerifyMail calls must find the From:
  // address among the signer's (verify_require_sender_match). A policy of
  // the caller's, like its grants, so it is kept where they are.
  bool VerifyRequiresSenderMatch(absl::string_view caller) const;

  // Whether the configured caller's encryptions may skip the validation of
  // the recipient certificates when a request asks
  // (encrypt_skip_recipient_validation).
  bool MaySkipRecipientValidation(absl::string_view caller) const;

 private:
  config::v1::Config config_;
  // The addresses each sender-bound key may sign for.
  std::map<std::string, std::vector<cms::Mailbox>, std::less<>> senders_;
};

}  // namespace signet::server

#endif  // SIGNET_APPLIANCE_SERVER_AUTHORIZER_H_
