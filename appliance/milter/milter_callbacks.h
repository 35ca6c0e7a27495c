// libmilter's callbacks: collect one mail per SMTP transaction into a
// ReceivedMail, hand it to the MailHandler at end of message, and apply its
// answer (header and body changes, a reply code, quarantine). libmilter
// runs a thread per MTA connection; each connection has its own context.
#ifndef SIGNET_APPLIANCE_MILTER_MILTER_CALLBACKS_H_
#define SIGNET_APPLIANCE_MILTER_MILTER_CALLBACKS_H_

#include <libmilter/mfapi.h>

#include <cstddef>
#include <string>

#include "appliance/milter/milter_counters.h"
#include "appliance/milter/received_mail.h"

namespace signet::milter {

struct MilterSettings {
  // The largest mail taken (headers and body): a larger one is refused
  // with 552 5.3.4 as soon as it is known to be larger.
  size_t max_message_bytes = 50 << 20;
  MailHandler handler;
  // Counted once per mail at end of message; may be null.
  MilterCounters* counters = nullptr;
};

// Registers the callbacks with libmilter (smfi_register). `settings` must
// outlive smfi_main.
int RegisterMilter(const MilterSettings* settings);

}  // namespace signet::milter

#endif  // SIGNET_APPLIANCE_MILTER_MILTER_CALLBACKS_H_
