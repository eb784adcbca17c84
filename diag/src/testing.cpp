// diag/src/testing.cpp — the GoogleTest leak listener and environment.
#include "goro/testing.hpp"

#include <sstream>

namespace goro::testing {

std::string describe_leaks(const std::vector<diag::TaskInfo>& leaks) {
  std::ostringstream out;
  out << leaks.size() << " goro task" << (leaks.size() == 1 ? "" : "s") << " leaked:\n";
  for (const auto& t : leaks) {
    out << "  task " << t.id;
    if (!t.name.empty()) out << " \"" << t.name << "\"";
    out << " [" << diag::to_string(t.reason) << "]";
    if (t.reason != diag::WaitReason::none)
      out << " at " << t.wait_site.file_name() << ":" << t.wait_site.line();
    out << ", spawned at " << t.spawn_site.file_name() << ":" << t.spawn_site.line() << "\n";
  }
  diag::dump_blocked(out);
  return out.str();
}

namespace {

class LeakListener : public ::testing::EmptyTestEventListener {
 public:
  explicit LeakListener(diag::LeakOptions opts) : opts_(std::move(opts)) {}
  void OnTestStart(const ::testing::TestInfo&) override { before_ = diag::ignore_current(); }
  // gtest still attributes assertions to the test during OnTestEnd, so the failure
  // lands on the test that leaked (and the run's exit code).
  void OnTestEnd(const ::testing::TestInfo&) override { check(); }

  void check() {
    diag::LeakOptions opts = opts_;
    opts.ignore_ids.insert(opts.ignore_ids.end(), before_.begin(), before_.end());
    auto leaks = diag::find_leaks(opts);
    if (!leaks.empty()) ADD_FAILURE() << describe_leaks(leaks);
  }

 private:
  diag::LeakOptions opts_;
  std::vector<TaskId> before_;
};

class LeakEnvironment : public ::testing::Environment {
 public:
  explicit LeakEnvironment(diag::LeakOptions opts) : opts_(std::move(opts)) {}
  void TearDown() override {
    auto leaks = diag::find_leaks(opts_);
    if (!leaks.empty()) ADD_FAILURE() << "tasks remain after all tests: " << describe_leaks(leaks);
  }

 private:
  diag::LeakOptions opts_;
};

}  // namespace

::testing::TestEventListener* make_leak_listener(diag::LeakOptions opts) {
  return new LeakListener(std::move(opts));
}

::testing::Environment* make_leak_environment(diag::LeakOptions opts) {
  return new LeakEnvironment(std::move(opts));
}

}  // namespace goro::testing
