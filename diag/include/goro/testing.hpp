// goro/testing.hpp — GoogleTest integration: fail tests that leave tasks behind
// (uber-go/goleak's VerifyNone and VerifyTestMain, for goro). Link goro::gtest.
//
//   int main(int argc, char** argv) {
//     ::testing::InitGoogleTest(&argc, argv);
//     auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
//     listeners.Append(goro::testing::make_leak_listener());        // per test
//     ::testing::AddGlobalTestEnvironment(goro::testing::make_leak_environment());  // at end
//     return RUN_ALL_TESTS();
//   }
//   // or link goro::gtest_main, whose main() does exactly that.
//
//   TEST(Server, StopsItsWorkers) { start_and_stop(); GORO_EXPECT_NO_LEAKS(); }
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "goro/diag.hpp"

namespace goro::testing {

// Fails the test that left tasks behind (tasks alive at its end that were not alive at
// its start), with the dump in the failure message.
::testing::TestEventListener* make_leak_listener(diag::LeakOptions opts = {});
// Fails the run when tasks remain once every test has finished.
::testing::Environment* make_leak_environment(diag::LeakOptions opts = {});

// The failure text for `leaks`: one line per task plus the blocked-task dump.
std::string describe_leaks(const std::vector<diag::TaskInfo>& leaks);

}  // namespace goro::testing

// Inside a test body: a non-fatal failure listing the tasks still alive (after the
// bounded wait of diag::find_leaks).
#define GORO_EXPECT_NO_LEAKS()                                                   \
  do {                                                                           \
    auto goro_leaks_ = ::goro::diag::find_leaks();                               \
    EXPECT_TRUE(goro_leaks_.empty()) << ::goro::testing::describe_leaks(goro_leaks_); \
  } while (0)
