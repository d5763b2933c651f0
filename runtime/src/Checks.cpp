//===- Checks.cpp - failures that compiled code reports -------------------===//
//
// A compiled module's convc.check (lowering/llvm/LowerChecks.cpp) calls
// convc_rt_check_failed and returns from its entry point; Module::run then
// takes the message and fails the call. Entry points run on the calling
// thread and checks sit outside parallel loops, so the record is per thread.
//
//===----------------------------------------------------------------------===//

#include "convc/Runtime.h"

#include <cstdint>
#include <string>

namespace {
thread_local std::string checkError;

void substitute(std::string &text, const char *placeholder, int64_t value) {
  size_t at = text.find(placeholder);
  if (at != std::string::npos)
    text.replace(at, 3, std::to_string(value));
}
} // namespace

extern "C" __attribute__((visibility("default"))) void
convc_rt_check_failed(const char *message, int64_t a, int64_t b) {
  if (!checkError.empty())
    return; // the first failure of the call is the one reported
  std::string text = message ? message : "a run-time check failed";
  substitute(text, "{0}", a);
  substitute(text, "{1}", b);
  checkError = text;
}

namespace convc::detail {
std::string takeCheckError() {
  std::string error;
  error.swap(checkError);
  return error;
}
} // namespace convc::detail
