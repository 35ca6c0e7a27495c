// What every CMS operation needs from its caller: the OpenSSL library context
// whose providers hold the keys (Signet's provider for token keys, the
// default provider for everything else) and the input limits.
#ifndef SIGNET_APPLIANCE_CMS_CMS_CONTEXT_H_
#define SIGNET_APPLIANCE_CMS_CMS_CONTEXT_H_

#include <openssl/types.h>

#include "appliance/cms/limits.h"

namespace signet::cms {

struct CmsContext {
  // Not owned; null means OpenSSL's default library context.
  OSSL_LIB_CTX* libctx = nullptr;
  Limits limits;
};

}  // namespace signet::cms

#endif  // SIGNET_APPLIANCE_CMS_CMS_CONTEXT_H_
