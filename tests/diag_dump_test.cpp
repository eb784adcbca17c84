// diag::dump_blocked: the grouped goro format (entry line, wait site, channels, spawner,
// groups with counts, oldest first), the Go format and panicparse reading it, and
// go_function_name.
#include <goro/goro.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "goro_test.hpp"

namespace {

using goro::diag::WaitReason;
using namespace std::chrono_literals;

std::string dump(const goro::diag::DumpOptions& opts = {}, std::size_t* count = nullptr) {
  std::ostringstream out;
  std::size_t n = goro::diag::dump_blocked(out, opts);
  if (count) *count = n;
  return out.str();
}

std::string site(int line) { return std::string(__FILE__) + ":" + std::to_string(line); }
// The Go format names sources "*.go" (DumpOptions::go_file_suffix).
std::string go_site(int line) { return std::string(__FILE__) + ".go:" + std::to_string(line); }

// Waits until every task in `ids` is parked with `reason`.
void wait_all_blocked(const std::vector<goro::TaskId>& ids, WaitReason reason) {
  for (auto id : ids) ASSERT_TRUE(gt::wait_blocked(id, reason)) << "task " << id;
}

// Waits until the coarse clock has moved past every task's blocking instant, so that a
// task blocking afterwards is strictly younger (ordering, not timing).
void wait_aged(const std::vector<goro::TaskId>& ids) {
  for (auto id : ids)
    ASSERT_TRUE(gt::eventually([&] {
      auto t = gt::task_info(id);
      return t && t->blocked_for > std::chrono::nanoseconds(0);
    }));
}

// Waits until none of `ids` is alive any more.
void wait_gone(const std::vector<goro::TaskId>& ids) {
  ASSERT_TRUE(gt::eventually([&] {
    for (auto id : ids)
      if (gt::task_info(id)) return false;
    return true;
  }));
}

TEST(DiagDump, EntryLineWaitSiteChannelAndSpawner) {
  goro::Channel<int> results;
  results.set_name("results");
  int send_line = __LINE__; goro::TaskId id = goro::go_spawn(goro::SpawnOptions{"fetcher"}, [results]() mutable { results.send(1); });
  wait_all_blocked({id}, WaitReason::chan_send);

  std::size_t n = 0;
  std::string text = dump({}, &n);
  EXPECT_EQ(n, 1u) << text;
  EXPECT_NE(text.find("task " + std::to_string(id) + " \"fetcher\" [chan send, "), std::string::npos) << text;
  EXPECT_NE(text.find("    at " + site(send_line) + " in "), std::string::npos) << text;
  EXPECT_NE(text.find("chan: unbuffered \"results\""), std::string::npos) << text;
  EXPECT_NE(text.find("created by a plain thread at " + site(send_line)), std::string::npos) << text;

  EXPECT_EQ(results.recv(), 1);
  wait_gone({id});
  EXPECT_EQ(goro::diag::dump_blocked(std::cerr), 0u);
}

TEST(DiagDump, BufferedChannelAndSpawnerTask) {
  goro::Channel<int> full(3);
  for (int i = 0; i < 3; ++i) full.send(i);
  goro::Channel<goro::TaskId> child_id(1);
  int spawn_line = 0;
  goro::TaskId parent = goro::go_spawn([full, child_id, &spawn_line]() mutable {
    spawn_line = __LINE__; child_id.send(goro::go_spawn([full]() mutable { full.send(3); }));
  });
  GT_ASSERT_RECV(child, child_id);
  wait_all_blocked({child}, WaitReason::chan_send);
  wait_gone({parent});  // the spawner may be gone: its id is still named

  std::string text = dump();
  EXPECT_NE(text.find("task " + std::to_string(child) + " [chan send, "), std::string::npos) << text;
  EXPECT_NE(text.find("chan: buffered 3/3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("created by task " + std::to_string(parent) + " at " + site(spawn_line)),
            std::string::npos)
      << text;

  for (int i = 0; i < 4; ++i) EXPECT_EQ(full.recv(), i);
  wait_gone({child});
}

TEST(DiagDump, SelectListsEachCase) {
  goro::Channel<int> a;
  a.set_name("a");
  goro::Channel<int> b(1);
  b.set_name("b");
  b.send(0);
  int select_line = 0;
  goro::TaskId id = goro::go_spawn([a, b, &select_line]() mutable {
    std::optional<int> v;
    select_line = __LINE__; goro::select(goro::recv_case(a, v), goro::send_case(b, 1));
  });
  wait_all_blocked({id}, WaitReason::select);
  std::string text = dump();
  EXPECT_NE(text.find("task " + std::to_string(id) + " [select, "), std::string::npos) << text;
  EXPECT_NE(text.find("    at " + site(select_line)), std::string::npos) << text;
  EXPECT_NE(text.find("    case recv on unbuffered \"a\"\n"), std::string::npos) << text;
  EXPECT_NE(text.find("    case send on buffered 1/1 \"b\"\n"), std::string::npos) << text;
  a.close();
  wait_gone({id});
}

TEST(DiagDump, GroupsIdenticalSitesWithACount) {
  const int kGroup = 1200;
  goro::Channel<int> inbox;
  inbox.set_name("inbox");
  std::vector<goro::TaskId> ids;
  int recv_line = __LINE__ + 2;
  for (int i = 0; i < kGroup; ++i)
    ids.push_back(goro::go_spawn([inbox]() mutable { inbox.recv(); }));
  goro::Channel<int> lone;
  int lone_line = __LINE__; goro::TaskId single = goro::go_spawn([lone]() mutable { lone.recv(); });
  wait_all_blocked(ids, WaitReason::chan_recv);
  wait_all_blocked({single}, WaitReason::chan_recv);

  std::size_t n = 0;
  std::string text = dump({}, &n);
  EXPECT_EQ(n, static_cast<std::size_t>(kGroup + 1)) << "returns tasks, not groups";
  EXPECT_NE(text.find("goro: 1,201 tasks in 2 groups\n"), std::string::npos) << text.substr(0, 500);
  EXPECT_NE(text.find("\n1,200 tasks [chan receive, "), std::string::npos) << text.substr(0, 500);
  EXPECT_NE(text.find("(1,200 in all)"), std::string::npos);
  EXPECT_NE(text.find("    at " + site(recv_line)), std::string::npos) << text.substr(0, 500);
  EXPECT_NE(text.find("chan: unbuffered \"inbox\""), std::string::npos);
  EXPECT_NE(text.find("task " + std::to_string(single) + " [chan receive"), std::string::npos);
  EXPECT_NE(text.find("    at " + site(lone_line)), std::string::npos);
  // A few lines, not one entry per task.
  EXPECT_LT(std::count(text.begin(), text.end(), '\n'), 20) << text;

  inbox.close();
  lone.close();
  wait_gone(ids);
  wait_gone({single});
}

TEST(DiagDump, GroupNamesItsSpawners) {
  goro::Channel<int> ch;
  goro::Channel<goro::TaskId> children(3);
  std::vector<goro::TaskId> parents;
  for (int i = 0; i < 3; ++i)
    parents.push_back(goro::go_spawn([ch, children]() mutable {
      children.send(goro::go_spawn([ch]() mutable { ch.recv(); }));
    }));
  std::vector<goro::TaskId> kids;
  for (int i = 0; i < 3; ++i) {
    GT_ASSERT_RECV(kid, children);
    kids.push_back(kid);
  }
  wait_all_blocked(kids, WaitReason::chan_recv);
  wait_gone(parents);
  std::sort(parents.begin(), parents.end());
  std::string text = dump();
  EXPECT_NE(text.find("3 tasks [chan receive, "), std::string::npos) << text;
  EXPECT_NE(text.find("    created by 3 tasks (" + std::to_string(parents[0]) + " " +
                      std::to_string(parents[1]) + " " + std::to_string(parents[2]) + ") at "),
            std::string::npos)
      << text;
  ch.close();
  wait_gone(kids);
}

TEST(DiagDump, OldestFirstByOrderOfBlocking) {
  goro::Channel<int> ch;
  auto spawn_recv_a = [&] { return goro::go_spawn([ch]() mutable { ch.recv(); }); };
  auto spawn_recv_b = [&] { return goro::go_spawn([ch]() mutable { ch.recv(); }); };
  auto spawn_recv_c = [&] { return goro::go_spawn([ch]() mutable { ch.recv(); }); };
  // Blocked in this order: a, then the group b (3 tasks), then c.
  goro::TaskId a = spawn_recv_a();
  wait_all_blocked({a}, WaitReason::chan_recv);
  wait_aged({a});
  std::vector<goro::TaskId> b{spawn_recv_b(), spawn_recv_b(), spawn_recv_b()};
  wait_all_blocked(b, WaitReason::chan_recv);
  wait_aged(b);
  goro::TaskId c = spawn_recv_c();
  wait_all_blocked({c}, WaitReason::chan_recv);

  std::string text = dump();
  auto pa = text.find("task " + std::to_string(a) + " ");
  auto pb = text.find("3 tasks [chan receive");
  auto pc = text.find("task " + std::to_string(c) + " ");
  ASSERT_NE(pa, std::string::npos) << text;
  ASSERT_NE(pb, std::string::npos) << text;
  ASSERT_NE(pc, std::string::npos) << text;
  EXPECT_LT(pa, pb) << text;
  EXPECT_LT(pb, pc) << text;
  // blocked_tasks() is oldest first too.
  auto blocked = goro::diag::blocked_tasks();
  ASSERT_EQ(blocked.size(), 5u);
  EXPECT_EQ(blocked.front().id, a);
  EXPECT_EQ(blocked.back().id, c);

  ch.close();
  wait_gone({a, b[0], b[1], b[2], c});
}

TEST(DiagDump, MinAgeFiltersYoungTasks) {
  goro::Channel<int> ch;
  goro::TaskId id = goro::go_spawn([ch]() mutable { ch.recv(); });
  wait_all_blocked({id}, WaitReason::chan_recv);
  goro::diag::DumpOptions opts;
  opts.min_age = std::chrono::hours(1);
  std::size_t n = 7;
  std::string text = dump(opts, &n);
  EXPECT_EQ(n, 0u) << text;
  ch.close();
  wait_gone({id});
}

TEST(DiagDump, GoFunctionNames) {
  using goro::diag::go_function_name;
  EXPECT_EQ(go_function_name("void fetch(goro::Channel<int>)"), "main.fetch");
  EXPECT_EQ(go_function_name("virtual void Diag_Test::TestBody()"), "Diag_Test.TestBody");
  EXPECT_EQ(go_function_name("Diag_Test::TestBody()::<lambda()>"), "Diag_Test.TestBody.func1");
  EXPECT_EQ(go_function_name("int ns::Foo<int>::bar(int) const"), "ns.Foo.bar");
  EXPECT_EQ(go_function_name("void f(T) [with T = int]"), "main.f");
  EXPECT_EQ(go_function_name("{anonymous}::worker()::<lambda()>"), "worker.func1");
  EXPECT_EQ(go_function_name("virtual void {anonymous}::S_T_Test::TestBody()"), "S_T_Test.TestBody");
  EXPECT_EQ(go_function_name("S_T_Test::TestBody()::<lambda()> mutable"), "S_T_Test.TestBody.func1");
  EXPECT_EQ(go_function_name(""), "main.unknown");
}

TEST(DiagDump, GoFormatOneEntryPerTask) {
  goro::Channel<int> ch;
  goro::Channel<goro::TaskId> child_id(1);
  int spawn_line = 0;
  goro::TaskId parent = goro::go_spawn([ch, child_id, &spawn_line]() mutable {
    spawn_line = __LINE__; child_id.send(goro::go_spawn([ch]() mutable { ch.send(1); }));
    ch.send(2);
  });
  GT_ASSERT_RECV(child, child_id);
  wait_all_blocked({child, parent}, WaitReason::chan_send);
  goro::diag::DumpOptions opts;
  opts.format = goro::diag::DumpFormat::go;
  std::size_t n = 0;
  std::string text = dump(opts, &n);
  EXPECT_EQ(n, 2u);
  EXPECT_NE(text.find("goroutine " + std::to_string(child) + " [chan send]:\n"), std::string::npos) << text;
  EXPECT_NE(text.find("goroutine " + std::to_string(parent) + " [chan send]:\n"), std::string::npos) << text;
  EXPECT_NE(text.find("TestBody.func1.func2(...)\n\t" + go_site(spawn_line) + " +0x0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\ncreated by DiagDump_GoFormatOneEntryPerTask_Test.TestBody.func"), std::string::npos) << text;
  EXPECT_NE(text.find(" in goroutine " + std::to_string(parent) + "\n\t" + go_site(spawn_line) + " +0x0\n\n"),
            std::string::npos)
      << text;
  EXPECT_TRUE(ch.recv().has_value());
  EXPECT_TRUE(ch.recv().has_value());
  wait_gone({child, parent});
}

// Debian's panicparse (package `panicparse`) reads the Go format: goroutines bucketed
// by identical stacks, with the right counts per bucket.
TEST(DiagDump, PanicparseReadsTheGoFormat) {
  const char* pp = "/usr/bin/panicparse";
  if (access(pp, X_OK) != 0) GTEST_SKIP() << "panicparse is not installed (apt-get install panicparse)";
  const int kSenders = 5, kReceivers = 3;
  goro::Channel<int> out_ch, in_ch;
  std::vector<goro::TaskId> ids;
  for (int i = 0; i < kSenders; ++i) ids.push_back(goro::go_spawn([out_ch]() mutable { out_ch.send(1); }));
  for (int i = 0; i < kReceivers; ++i) ids.push_back(goro::go_spawn([in_ch]() mutable { in_ch.recv(); }));
  for (int i = 0; i < kSenders + kReceivers; ++i)
    ASSERT_TRUE(gt::wait_blocked(ids[i], i < kSenders ? WaitReason::chan_send : WaitReason::chan_recv));

  goro::diag::DumpOptions opts;
  opts.format = goro::diag::DumpFormat::go;
  std::string path = ::testing::TempDir() + "goro_dump_" + std::to_string(getpid()) + ".txt";
  {
    std::ofstream f(path);
    ASSERT_EQ(goro::diag::dump_blocked(f, opts), static_cast<std::size_t>(kSenders + kReceivers));
  }
  std::string cmd = std::string(pp) + " -no-color -rebase=false -parse=false " + path + " 2>&1";
  auto [status, output] = gt::run_command(cmd);
  std::remove(path.c_str());
  EXPECT_EQ(status, 0) << output;
  // Buckets print as "<count>: <state> ...".
  std::map<std::string, int> counts;
  std::regex bucket(R"(^(\d+): ([a-z ]+?)(?: \[|$))");
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, bucket)) counts[m[2]] += std::stoi(m[1]);
  }
  EXPECT_EQ(counts["chan send"], kSenders) << output;
  EXPECT_EQ(counts["chan receive"], kReceivers) << output;
  EXPECT_EQ(counts.size(), 2u) << output;
  EXPECT_NE(output.find("diag_dump_test.cpp"), std::string::npos) << output;

  for (int i = 0; i < kSenders; ++i) EXPECT_EQ(out_ch.recv(), 1);
  in_ch.close();
  wait_gone(ids);
}

}  // namespace
