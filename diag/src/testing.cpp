// diag/src/testing.cpp — the GoogleTest leak listener and environment, and the LeakScope
// bookkeeping behind them (which task is charged to which test, what was reported).
#include "goro/testing.hpp"

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "goro/detail/origin.hpp"

namespace goro::testing {

namespace {

struct ScopeRecord {
  std::string label;
  bool ended = false;
  bool overlapped = false;  // another scope was active at some point during this one
};

// Shared by every scope, listener and environment of the process.
struct Ledger {
  std::mutex mu;
  std::unordered_map<std::uint64_t, ScopeRecord> scopes;  // by origin
  std::vector<std::uint64_t> active;                      // origins of live scopes
  std::unordered_set<TaskId> reported;                    // each leak is reported once
  std::uint64_t next_origin = 0x60'0000'0000'0000ull;     // far from small user tags
};

Ledger& ledger() {
  static Ledger* l = new Ledger;  // never destroyed: tasks may outlive main
  return *l;
}

thread_local LeakScope* t_scope = nullptr;

bool is_reported(TaskId id) {
  Ledger& l = ledger();
  std::lock_guard lk(l.mu);
  return l.reported.count(id) != 0;
}

void mark_reported(const std::vector<diag::TaskInfo>& tasks) {
  Ledger& l = ledger();
  std::lock_guard lk(l.mu);
  for (const auto& t : tasks) l.reported.insert(t.id);
}

std::string test_label(const ::testing::TestInfo& info) {
  return std::string(info.test_suite_name()) + "." + info.name();
}

std::string plural(std::size_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

}  // namespace

LeakScope::LeakScope(std::string label)
    : previous_origin_(detail::thread_spawn_origin()), label_(std::move(label)) {
  before_ = diag::ignore_current();
  std::sort(before_.begin(), before_.end());
  Ledger& l = ledger();
  {
    std::lock_guard lk(l.mu);
    origin_ = ++l.next_origin;
    ScopeRecord& rec = l.scopes[origin_];
    rec.label = label_;
    if (!l.active.empty()) {
      rec.overlapped = true;
      for (auto o : l.active) l.scopes[o].overlapped = true;
    }
    l.active.push_back(origin_);
  }
  detail::set_thread_spawn_origin(origin_);
  t_scope_previous_ = t_scope;
  t_scope = this;
}

LeakScope::~LeakScope() {
  detail::set_thread_spawn_origin(previous_origin_);
  if (t_scope == this) t_scope = t_scope_previous_;
  Ledger& l = ledger();
  std::lock_guard lk(l.mu);
  l.scopes[origin_].ended = true;
  l.active.erase(std::remove(l.active.begin(), l.active.end(), origin_), l.active.end());
}

std::vector<diag::TaskInfo> LeakScope::check(const diag::LeakOptions& opts) {
  diag::LeakOptions o = opts;
  auto user_rule = opts.ignore_if;
  const std::uint64_t mine = origin_;
  const std::vector<TaskId>* before = &before_;
  o.ignore_if = [mine, before, user_rule](const diag::TaskInfo& t) {
    bool charged = t.origin == mine;
    if (!charged && t.origin == 0 && !std::binary_search(before->begin(), before->end(), t.id)) {
      // A task from a plain thread without origin: ours only if nobody overlapped us.
      Ledger& l = ledger();
      std::lock_guard lk(l.mu);
      auto it = l.scopes.find(mine);
      charged = it != l.scopes.end() && !it->second.overlapped;
    }
    if (!charged || is_reported(t.id)) return true;
    return user_rule && user_rule(t);
  };
  auto leaks = diag::find_leaks(std::move(o));
  mark_reported(leaks);
  return leaks;
}

std::vector<LateLeak> late_leaks(std::uint64_t except_origin) {
  std::vector<LateLeak> out;
  auto all = diag::tasks();
  Ledger& l = ledger();
  std::lock_guard lk(l.mu);
  std::unordered_map<std::uint64_t, std::size_t> index;
  for (auto& t : all) {
    if (t.origin == 0 || t.origin == except_origin || l.reported.count(t.id)) continue;
    auto it = l.scopes.find(t.origin);
    if (it == l.scopes.end() || !it->second.ended) continue;
    auto [pos, fresh] = index.try_emplace(t.origin, out.size());
    if (fresh) out.push_back(LateLeak{it->second.label, {}});
    l.reported.insert(t.id);
    out[pos->second].tasks.push_back(std::move(t));
  }
  return out;
}

std::string origin_label(std::uint64_t origin) {
  if (origin == 0) return "";
  Ledger& l = ledger();
  std::lock_guard lk(l.mu);
  auto it = l.scopes.find(origin);
  return it == l.scopes.end() ? "" : it->second.label;
}

std::string describe_leaks(const std::vector<diag::TaskInfo>& leaks) {
  std::ostringstream out;
  out << plural(leaks.size(), "goro task") << " leaked:\n";
  for (const auto& t : leaks) {
    out << "  task " << t.id;
    if (!t.name.empty()) out << " \"" << t.name << "\"";
    out << " [" << diag::to_string(t.reason) << "]";
    if (t.reason != diag::WaitReason::none)
      out << " at " << t.wait_site.file_name() << ":" << t.wait_site.line();
    out << ", spawned at " << t.spawn_site.file_name() << ":" << t.spawn_site.line();
    if (auto label = origin_label(t.origin); !label.empty()) out << ", charged to " << label;
    out << "\n";
  }
  if (!leaks.empty()) diag::dump_tasks(out, leaks);
  return out.str();
}

std::vector<diag::TaskInfo> find_test_leaks(const diag::LeakOptions& opts) {
  if (t_scope != nullptr) return t_scope->check(opts);
  auto leaks = diag::find_leaks(opts);
  mark_reported(leaks);
  return leaks;
}

namespace {

class LeakListener : public ::testing::EmptyTestEventListener {
 public:
  LeakListener(diag::LeakOptions opts, ListenerOptions lopts)
      : opts_(std::move(opts)), lopts_(lopts) {}

  void OnTestStart(const ::testing::TestInfo& info) override {
    scope_ = std::make_unique<LeakScope>(test_label(info));
  }

  // gtest still attributes assertions to the test during OnTestEnd, so the failure
  // lands on the test that leaked (and on the run's exit code).
  void OnTestEnd(const ::testing::TestInfo& info) override {
    if (!scope_) return;
    const bool failed = info.result() != nullptr && info.result()->Failed();
    if (!failed || lopts_.check_failed_tests) {
      auto leaks = scope_->check(opts_);
      if (!leaks.empty()) {
        ADD_FAILURE() << "goro: " << plural(leaks.size(), "task") << " leaked by "
                      << scope_->label() << " (still alive " << opts_.max_wait.count()
                      << " ms after it ended):\n"
                      << describe_leaks(leaks);
      }
    }
    if (lopts_.report_late_leaks) {
      for (auto& late : late_leaks(scope_->origin())) {
        std::ostringstream text;
        text << "goro: " << plural(late.tasks.size(), "task") << " leaked by " << late.leaked_by
             << ", noticed at the end of " << scope_->label() << ":\n"
             << describe_leaks(late.tasks);
        std::fputs(text.str().c_str(), stdout);
        std::fflush(stdout);
        late_reports_.push_back("goro: " + plural(late.tasks.size(), "task") + " leaked by " +
                                late.leaked_by + ", noticed at the end of " + scope_->label() +
                                " (the dump is printed there)");
      }
    }
    scope_.reset();
  }

  // Late leaks fail the run, not the test that noticed them: an ad-hoc failure once no
  // test runs (recorded before gtest computes the run's result).
  void OnTestIterationEnd(const ::testing::UnitTest&, int) override {
    for (const auto& text : late_reports_) ADD_FAILURE() << text;
    late_reports_.clear();
  }

 private:
  diag::LeakOptions opts_;
  ListenerOptions lopts_;
  std::unique_ptr<LeakScope> scope_;
  std::vector<std::string> late_reports_;
};

class LeakEnvironment : public ::testing::Environment {
 public:
  explicit LeakEnvironment(diag::LeakOptions opts) : opts_(std::move(opts)) {}
  void TearDown() override {
    auto leaks = diag::find_leaks(opts_);
    if (leaks.empty()) return;
    std::vector<diag::TaskInfo> fresh;
    std::size_t already = 0;
    for (auto& t : leaks) {
      if (is_reported(t.id))
        ++already;
      else
        fresh.push_back(std::move(t));
    }
    mark_reported(fresh);
    std::ostringstream text;
    text << "goro: " << plural(leaks.size(), "task") << (leaks.size() == 1 ? " remains" : " remain")
         << " after all tests";
    if (already) text << " (" << already << " of them reported above)";
    text << ".\n";
    if (!fresh.empty()) text << describe_leaks(fresh);
    ADD_FAILURE() << text.str();
  }

 private:
  diag::LeakOptions opts_;
};

}  // namespace

::testing::TestEventListener* make_leak_listener(diag::LeakOptions opts) {
  return new LeakListener(std::move(opts), ListenerOptions{});
}

::testing::TestEventListener* make_leak_listener(diag::LeakOptions opts, ListenerOptions lopts) {
  return new LeakListener(std::move(opts), lopts);
}

::testing::Environment* make_leak_environment(diag::LeakOptions opts) {
  return new LeakEnvironment(std::move(opts));
}

namespace {

// explore()'s view of GoogleTest (goro/explore.hpp): the running test's failed parts.
int failed_test_parts(std::string* last) {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  if (info == nullptr || info->result() == nullptr) return 0;
  const ::testing::TestResult& result = *info->result();
  int failed = 0;
  for (int i = 0; i < result.total_part_count(); ++i) {
    const ::testing::TestPartResult& part = result.GetTestPartResult(i);
    if (!part.failed()) continue;
    ++failed;
    if (last != nullptr)
      *last = std::string(part.file_name() ? part.file_name() : "?") + ":" +
              std::to_string(part.line_number()) + ": " + part.message();
  }
  return failed;
}

const bool g_probe_installed = (detail::set_test_failure_probe(&failed_test_parts), true);

}  // namespace

ExploreResult explore_in_test(std::function<void()> body, ExploreOptions opts, const char* file,
                              int line) {
  (void)g_probe_installed;
  detail::set_test_failure_probe(&failed_test_parts);
  ExploreResult result = explore(std::move(body), opts);
  if (result.failed) ADD_FAILURE_AT(file, line) << result.report;
  return result;
}

}  // namespace goro::testing
