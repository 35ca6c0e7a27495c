// The invariant check of the fuzz targets: a violated invariant aborts, which
// libFuzzer reports as a crash and saves the input of.
#ifndef SIGNET_APPLIANCE_CMS_FUZZ_FUZZ_CHECK_H_
#define SIGNET_APPLIANCE_CMS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define SIGNET_FUZZ_CHECK(condition)                                                           \
  do {                                                                                         \
    if (!(condition)) {                                                                        \
      std::fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                            \
    }                                                                                          \
  } while (false)

#endif  // SIGNET_APPLIANCE_CMS_FUZZ_FUZZ_CHECK_H_
