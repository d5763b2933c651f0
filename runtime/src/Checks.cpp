//===- Checks.cpp - failures that compiled code reports -------------------===//
//
// A compiled module's convc.check (lowering/llvm/LowerChecks.cpp) calls
// convc_rt_check_failed and returns from its entry point; Module::run then
// takes the message and fails the call. A per-element check in a loop (a
// Gather's index) calls convc_rt_check_failed_continue and the loop goes on:
// it may run on the thread pool's workers, which record into the record of
// the thread that made the call (ThreadPool passes it along), under a lock.
//
//===----------------------------------------------------------------------===//

#include "convc/Runtime.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

namespace {
struct CheckRecord {
  std::string message;
  // The entry point ran to its end: every failure was a per-element one.
  // One that returned at once left the results unset, whichever came first.
  bool continued = false;
  bool returned = false;
};
thread_local CheckRecord ownRecord;
/// Where this thread records: its own, or, inside a work item of a
/// parallel loop, the calling thread's.
thread_local CheckRecord *record = nullptr;
std::mutex recordLock;

/// The last `placeholder`: the messages name the node (whose name may hold
/// "{0}") before the values.
void substitute(std::string &text, const char *placeholder, int64_t value) {
  size_t at = text.rfind(placeholder);
  if (at != std::string::npos)
    text.replace(at, 3, std::to_string(value));
}

void recordFailure(const char *message, int64_t a, int64_t b, bool continued) {
  CheckRecord &r = record ? *record : ownRecord;
  std::lock_guard<std::mutex> guard(recordLock);
  r.returned |= !continued;
  if (!r.message.empty())
    return; // the first failure of the call is the one reported
  std::string text = message ? message : "a run-time check failed";
  substitute(text, "{0}", a);
  substitute(text, "{1}", b);
  r.message = text;
  r.continued = continued;
}
} // namespace

extern "C" __attribute__((visibility("default"))) void
convc_rt_check_failed(const char *message, int64_t a, int64_t b) {
  recordFailure(message, a, b, /*continued=*/false);
}

extern "C" __attribute__((visibility("default"))) void
convc_rt_check_failed_continue(const char *message, int64_t a, int64_t b) {
  recordFailure(message, a, b, /*continued=*/true);
}

/// A failed access check of a module compiled with --bounds-checks: the
/// access would leave its buffer, so nothing may run on.
extern "C" __attribute__((visibility("default"), noreturn)) void
convc_rt_access_check_failed(const char *message) {
  std::fprintf(stderr, "convc: --bounds-checks: %s\n",
               message ? message : "an access out of bounds");
  std::fflush(stderr);
  std::abort();
}

namespace convc::detail {
std::string takeCheckError(bool *continued) {
  std::lock_guard<std::mutex> guard(recordLock);
  CheckRecord &r = record ? *record : ownRecord;
  std::string error;
  error.swap(r.message);
  if (continued)
    *continued = r.continued && !r.returned;
  r.continued = r.returned = false;
  return error;
}

void *checkRecordOfThisThread() { return record ? record : &ownRecord; }

void *adoptCheckRecord(void *caller) {
  void *previous = record;
  record = static_cast<CheckRecord *>(caller);
  return previous;
}
} // namespace convc::detail
