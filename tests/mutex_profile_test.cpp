// The mutex profile (goro/profile.hpp, set_mutex_profile_fraction): contention on
// goro::Mutex charged at the unlock that ended it, RWMutex at the waiting call, nothing
// while the fraction is 0, Go's text format, and `go tool pprof` as a reader.
#include <goro/goro.hpp>
#include <goro/profile.hpp>

#include <gtest/gtest.h>

#include <regex>
#include <sstream>
#include <string>

#include "go_pprof.hpp"
#include "goro_test.hpp"

namespace {

using goro::diag::WaitReason;

// The calls whose lines the profile must name.
void release_mutex(goro::Mutex& mu) { mu.unlock(); }
constexpr int kUnlockLine = __LINE__ - 1;
void read_lock(goro::RWMutex& mu) { mu.lock_shared(); }
constexpr int kReadLockLine = __LINE__ - 1;

std::string site(int line) {
  std::string f = __FILE__;
  return f.substr(f.rfind('/') + 1) + ":" + std::to_string(line);
}

std::string profile(std::string_view name, int debug) {
  std::ostringstream out;
  EXPECT_TRUE(goro::diag::write_profile(name, out, debug));
  return out.str();
}

// One contention: a task blocks in lock() while the mutex is held, then another task
// hands it over in release_mutex.
void contend_once(goro::Mutex& mu) {
  mu.lock();
  goro::Channel<int> done(1);
  const goro::TaskId waiter = goro::go_spawn([&mu, done]() mutable {
    mu.lock();
    mu.unlock();
    done.send(1);
  });
  ASSERT_TRUE(gt::wait_blocked(waiter, WaitReason::mutex));
  goro::go_spawn([&mu] { release_mutex(mu); });
  done.recv();
}

// The "<delay> <count> @ ..." record whose first frame is release_mutex's unlock line.
struct Record {
  long long delay = -1, count = -1;
};
Record unlock_record(const std::string& text) {
  std::smatch m;
  if (!std::regex_search(text, m,
                         std::regex("\n([0-9]+) ([0-9]+) @ 0x[0-9a-f]+ 0x[0-9a-f]+\n#\t0x[0-9a-f]+\t"
                                    "[^\n]*release_mutex[^\n]*" + site(kUnlockLine) +
                                    "\n#\t0x[0-9a-f]+\tcreated by [^\n]*\n")))
    return {};
  return {std::stoll(m[1]), std::stoll(m[2])};
}

TEST(MutexProfile, FractionIsOffByDefaultAndSettingItReturnsTheOldOne) {
  EXPECT_EQ(goro::diag::set_mutex_profile_fraction(-1), 0);  // a negative one only reads
  EXPECT_EQ(goro::diag::set_mutex_profile_fraction(5), 0);
  EXPECT_EQ(goro::diag::set_mutex_profile_fraction(-1), 5);
  EXPECT_EQ(goro::set_mutex_profile_fraction(1), 5);  // also at namespace goro
  EXPECT_EQ(goro::diag::set_mutex_profile_fraction(0), 1);
  EXPECT_EQ(goro::diag::set_mutex_profile_fraction(-1), 0);
}

TEST(MutexProfile, ContendedMutexIsChargedAtTheUnlockThatEndedTheWait) {
  goro::diag::reset_mutex_profile();
  goro::diag::set_mutex_profile_fraction(1);
  goro::Mutex mu;
  contend_once(mu);
  goro::diag::set_mutex_profile_fraction(0);
  const std::string text = profile("mutex", 1);
  EXPECT_EQ(text.rfind("--- mutex:\ncycles/second=1000000000\nsampling period=0\n", 0), 0u) << text;
  const Record r = unlock_record(text);
  EXPECT_EQ(r.count, 1) << text;
  EXPECT_GT(r.delay, 0) << text;
  // Uncontended locks and unlocks (the waiter's own) add nothing.
  EXPECT_EQ(text.find("goro::Mutex::lock"), std::string::npos) << text;
}

TEST(MutexProfile, NothingIsRecordedWhileTheFractionIsZero) {
  goro::diag::reset_mutex_profile();
  ASSERT_EQ(goro::diag::set_mutex_profile_fraction(-1), 0);
  goro::Mutex mu;
  contend_once(mu);
  const std::string text = profile("mutex", 1);
  EXPECT_EQ(text, "--- mutex:\ncycles/second=1000000000\nsampling period=0\n");
  EXPECT_EQ(unlock_record(text).count, -1);
}

TEST(MutexProfile, SampledContentionsAreWeightedByTheFraction) {
  goro::diag::reset_mutex_profile();
  goro::diag::set_mutex_profile_fraction(2);
  goro::Mutex mu;
  for (int i = 0; i < 40; ++i) contend_once(mu);  // P(none kept) = 2^-40
  goro::diag::set_mutex_profile_fraction(0);
  const Record r = unlock_record(profile("mutex", 1));
  EXPECT_GT(r.count, 0);
  EXPECT_EQ(r.count % 2, 0) << "each kept contention stands for 2";
}

TEST(MutexProfile, RWMutexWaitIsChargedAtTheWaitingCall) {
  goro::diag::reset_mutex_profile();
  goro::diag::set_mutex_profile_fraction(1);
  goro::RWMutex mu;
  mu.lock();
  goro::Channel<int> done(1);
  const goro::TaskId reader = goro::go_spawn([&mu, done]() mutable {
    read_lock(mu);
    mu.unlock_shared();
    done.send(1);
  });
  ASSERT_TRUE(gt::wait_blocked(reader, WaitReason::rwmutex_rlock));
  mu.unlock();
  done.recv();
  goro::diag::set_mutex_profile_fraction(0);
  const std::string text = profile("mutex", 1);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text, m,
                                std::regex("\n([0-9]+) 1 @ 0x[0-9a-f]+ 0x[0-9a-f]+\n#\t0x[0-9a-f]+\t"
                                           "[^\n]*read_lock[^\n]*" + site(kReadLockLine) + "\n")))
      << text;
  EXPECT_GT(std::stoll(m[1]), 0) << text;
}

TEST(MutexProfile, GoToolPprofReadsTheMutexProfile) {
  if (!gt::have_go()) GTEST_SKIP() << gt::kNoGo;
  goro::diag::reset_mutex_profile();
  goro::diag::set_mutex_profile_fraction(1);
  goro::Mutex mu;
  contend_once(mu);
  goro::diag::set_mutex_profile_fraction(0);
  const std::string data = profile("mutex", 0);

  const gt::CommandResult top = gt::go_pprof("-sample_index=contentions -top -lines", data);
  ASSERT_EQ(top.exit_code, 0) << top.output;
  EXPECT_NE(top.output.find("Type: contentions"), std::string::npos) << top.output;
  EXPECT_EQ(gt::leading_number(gt::line_with(top.output, {"release_mutex", site(kUnlockLine)})), 1)
      << top.output;
  const gt::CommandResult raw = gt::go_pprof("-raw", data);
  ASSERT_EQ(raw.exit_code, 0) << raw.output;
  EXPECT_NE(raw.output.find("contentions/count delay/nanoseconds"), std::string::npos) << raw.output;
  EXPECT_NE(gt::line_with(raw.output, {"release_mutex", site(kUnlockLine)}), "") << raw.output;
}

}  // namespace
