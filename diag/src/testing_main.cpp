// diag/src/testing_main.cpp — main() of goro::gtest_main: GoogleTest with both leak gates.
#include "goro/testing.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::UnitTest::GetInstance()->listeners().Append(goro::testing::make_leak_listener());
  ::testing::AddGlobalTestEnvironment(goro::testing::make_leak_environment());
  return RUN_ALL_TESTS();
}
