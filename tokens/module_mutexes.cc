#include "tokens/module_mutexes.h"

#include <algorithm>
#include <mutex>
#include <new>
#include <vector>

namespace signet {
namespace {

struct HeldLock {
  std::recursive_mutex* mutex;
  std::size_t depth;
};

// What this thread holds; a module holds at most a few locks at a time.
thread_local std::vector<HeldLock> held_locks;

std::vector<HeldLock>::iterator FindHeld(std::recursive_mutex* mutex) {
  return std::find_if(held_locks.begin(), held_locks.end(),
                      [mutex](const HeldLock& held) { return held.mutex == mutex; });
}

CK_RV CreateModuleMutex(CK_VOID_PTR_PTR mutex) {
  if (mutex == nullptr) return CKR_ARGUMENTS_BAD;
  *mutex = new (std::nothrow) std::recursive_mutex();
  return *mutex != nullptr ? CKR_OK : CKR_HOST_MEMORY;
}

CK_RV DestroyModuleMutex(CK_VOID_PTR mutex) {
  if (mutex == nullptr) return CKR_MUTEX_BAD;
  delete static_cast<std::recursive_mutex*>(mutex);
  return CKR_OK;
}

CK_RV LockModuleMutex(CK_VOID_PTR mutex) {
  if (mutex == nullptr) return CKR_MUTEX_BAD;
  auto* m = static_cast<std::recursive_mutex*>(mutex);
  m->lock();
  auto held = FindHeld(m);
  if (held != held_locks.end()) {
    ++held->depth;
  } else {
    held_locks.push_back({m, 1});
  }
  return CKR_OK;
}

CK_RV UnlockModuleMutex(CK_VOID_PTR mutex) {
  if (mutex == nullptr) return CKR_MUTEX_BAD;
  auto* m = static_cast<std::recursive_mutex*>(mutex);
  auto held = FindHeld(m);
  // Unlocking a mutex another thread holds would be undefined behaviour.
  if (held == held_locks.end()) return CKR_MUTEX_NOT_LOCKED;
  if (--held->depth == 0) held_locks.erase(held);
  m->unlock();
  return CKR_OK;
}

}  // namespace

void UseModuleMutexes(CK_C_INITIALIZE_ARGS& args) {
  args.CreateMutex = &CreateModuleMutex;
  args.DestroyMutex = &DestroyModuleMutex;
  args.LockMutex = &LockModuleMutex;
  args.UnlockMutex = &UnlockModuleMutex;
}

bool ThreadHoldsModuleMutexes() { return !held_locks.empty(); }

std::size_t ReleaseModuleMutexesOfThisThread() {
  std::size_t released = 0;
  for (HeldLock& held : held_locks) {
    for (; held.depth > 0; --held.depth, ++released) held.mutex->unlock();
  }
  held_locks.clear();
  return released;
}

}  // namespace signet
