//===- RuntimeChecksTest.cpp - the runtime's record of failed checks -----===//
//
// What compiled code reports through convc_rt_check_failed[_continue] and
// how Module::run reads it back (runtime/src/Checks.cpp).
//
//===----------------------------------------------------------------------===//

#include "convc/Runtime.h"

#include <gtest/gtest.h>

extern "C" void convc_rt_check_failed(const char *message, int64_t a,
                                      int64_t b);
extern "C" void convc_rt_check_failed_continue(const char *message, int64_t a,
                                               int64_t b);

namespace {

TEST(RuntimeChecks, FirstMessageWithItsValues) {
  convc::detail::takeCheckError();
  convc_rt_check_failed_continue("index {0} of {1}", 7, 5);
  convc_rt_check_failed_continue("another {0}", 9, 0);
  bool continued = false;
  EXPECT_EQ(convc::detail::takeCheckError(&continued), "index 7 of 5");
  EXPECT_TRUE(continued); // only per-element failures: the results are set
  EXPECT_EQ(convc::detail::takeCheckError(&continued), "");
  EXPECT_FALSE(continued);
}

TEST(RuntimeChecks, AnEarlyReturnAfterAPerElementFailureLeavesNoResults) {
  // A Gather's index failed (the entry point ran on), then a broadcast
  // check returned at once with its results unset: the runtime must not
  // adopt them (the module fuzzer found a double free there).
  convc::detail::takeCheckError();
  convc_rt_check_failed_continue("index {0}", 7, 0);
  convc_rt_check_failed("sizes {0} and {1}", 3, 5);
  bool continued = true;
  EXPECT_EQ(convc::detail::takeCheckError(&continued), "index 7");
  EXPECT_FALSE(continued);
}

TEST(RuntimeChecks, EarlyReturnFirst) {
  convc::detail::takeCheckError();
  convc_rt_check_failed("sizes {0} and {1}", 3, 5);
  convc_rt_check_failed_continue("index {0}", 7, 0);
  bool continued = true;
  EXPECT_EQ(convc::detail::takeCheckError(&continued), "sizes 3 and 5");
  EXPECT_FALSE(continued);
}

} // namespace
