// diag/src/testing_main.cpp — main() of goro::gtest_main: GoogleTest with both leak gates.
//   GORO_LEAKCHECK_FAILED_TESTS=off  do not check tests that failed anyway (a boolean:
//   1|0, true|false, on|off, yes|no; default on). An invalid value stops the run (exit 2).
#include <cstdio>
#include <stdexcept>

#include "goro/internal/inspect.hpp"
#include "goro/testing.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  goro::testing::ListenerOptions lopts;
  try {
    lopts.check_failed_tests =
        goro::detail::env::read_bool("GORO_LEAKCHECK_FAILED_TESTS").value_or(true);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  ::testing::UnitTest::GetInstance()->listeners().Append(
      goro::testing::make_leak_listener({}, lopts));
  ::testing::AddGlobalTestEnvironment(goro::testing::make_leak_environment());
  return RUN_ALL_TESTS();
}
