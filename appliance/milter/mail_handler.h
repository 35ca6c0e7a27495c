// What signet-milter does with one mail at end of message: the policy
// (policy.h) decides, signetd does the work (signetd_client.h), and the
// answer says how the MTA's copy changes (message_rewrite.h) or why the
// mail is deferred, refused or held. Failures of the appliance defer (4xx):
// a mail is never sent unsigned or unencrypted when the policy says it must
// be signed or encrypted, and never lost.
#ifndef SIGNET_APPLIANCE_MILTER_MAIL_HANDLER_H_
#define SIGNET_APPLIANCE_MILTER_MAIL_HANDLER_H_

#include "appliance/milter/received_mail.h"
#include "appliance/milter/signetd_client.h"
#include "signet/milter/v1/milter_config.pb.h"

namespace signet::milter {

class MailPolicyHandler {
 public:
  // Both must outlive the handler; `config` has its defaults filled in.
  MailPolicyHandler(const v1::MilterConfig& config, SignetdClient& signetd)
      : config_(config), signetd_(signetd) {}

  MilterAnswer Handle(const ReceivedMail& mail);

 private:
  MilterAnswer Outbound(const ReceivedMail& mail);
  MilterAnswer Inbound(const ReceivedMail& mail);

  const v1::MilterConfig& config_;
  SignetdClient& signetd_;
};

}  // namespace signet::milter

#endif  // SIGNET_APPLIANCE_MILTER_MAIL_HANDLER_H_
