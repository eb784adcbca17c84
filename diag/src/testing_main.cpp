// diag/src/testing_main.cpp — main() of goro::gtest_main: GoogleTest with both leak gates.
//   GORO_LEAKCHECK_FAILED_TESTS=off  do not check tests that failed anyway.
#include <cstdlib>
#include <cstring>

#include "goro/testing.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  goro::testing::ListenerOptions lopts;
  if (const char* v = std::getenv("GORO_LEAKCHECK_FAILED_TESTS");
      v && (!std::strcmp(v, "off") || !std::strcmp(v, "0") || !std::strcmp(v, "false")))
    lopts.check_failed_tests = false;
  ::testing::UnitTest::GetInstance()->listeners().Append(
      goro::testing::make_leak_listener({}, lopts));
  ::testing::AddGlobalTestEnvironment(goro::testing::make_leak_environment());
  return RUN_ALL_TESTS();
}
