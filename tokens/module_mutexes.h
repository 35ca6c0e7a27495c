// The mutexes Signet hands every PKCS#11 module in CK_C_INITIALIZE_ARGS:
// recursive, and able to take back any lock a module forgot to release when
// its function returned.
//
// Why: OpenSC 0.23 (Debian 12) leaves a lock held when a card leaves in the
// middle of an operation: sc_unlock() takes the card's mutex, finds the
// card's lock count already at zero and returns an error without releasing
// the mutex. With plain mutexes the same thread then deadlocks on its next
// lock within the call (C_Sign never returns; upstream OpenSC issue #2707);
// with recursive ones it returns but keeps the mutex, and every other thread
// that calls into OpenSC afterwards waits forever. No PKCS#11 library holds
// one of its locks across the return of a C_ function, so a lock still held
// when the call is back in Signet is a leak and is released there
// (Module::Invoke). OpenSC takes every lock through the functions the
// application passes to C_Initialize; PKCS#11 allows a library to use them
// even when CKF_OS_LOCKING_OK is set, and SoftHSM and p11-kit do.
#ifndef SIGNET_TOKENS_MODULE_MUTEXES_H_
#define SIGNET_TOKENS_MODULE_MUTEXES_H_

#include <cstddef>

#include "tokens/pkcs11.h"

namespace signet {

// Sets args->CreateMutex, DestroyMutex, LockMutex and UnlockMutex.
void UseModuleMutexes(CK_C_INITIALIZE_ARGS& args);

// Whether the calling thread holds any lock on a module mutex (cheap: the
// check after every module call).
bool ThreadHoldsModuleMutexes();

// Releases every lock the calling thread holds on module mutexes; returns
// how many locks that was.
std::size_t ReleaseModuleMutexesOfThisThread();

}  // namespace signet

#endif  // SIGNET_TOKENS_MODULE_MUTEXES_H_
