// goro's memory by site (goro/memory.hpp) and the heap profile built on it: known
// allocations (tasks touching a known amount of stack at one spawn site, channels of a
// known capacity at one creation site) are attributed to their sites; the heap profile
// reads back in Go's pprof with the site that holds the memory at the top.
#include <goro/goro.hpp>
#include <goro/memory.hpp>
#include <goro/profile.hpp>
#include <goro/trend.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "go_pprof.hpp"
#include "goro_test.hpp"

namespace {

using goro::diag::MemoryKind;
using goro::diag::MemorySite;

constexpr std::size_t kTouchedStack = 32 * 1024;
constexpr int kTasks = 1000;
constexpr int kChannels = 100;
constexpr std::size_t kCapacity = 64;
using Buffer = std::array<std::byte, 1024>;

// Touches kTouchedStack bytes of the task's stack, then waits on `gate`. (Not
// instrumented by ASan, whose fake stacks would move the array off the task's stack.)
__attribute__((noinline, no_sanitize("address"))) void hold_stack_until_closed(goro::Channel<int> gate) {
  volatile char buf[kTouchedStack];
  for (std::size_t i = 0; i < sizeof buf; i += 256) buf[i] = 1;
  (void)gate.recv();
  buf[0] = buf[kTouchedStack - 1];
}

struct Workload {
  goro::Channel<int> gate;
  unsigned task_line = 0, channel_line = 0;
  std::vector<goro::Channel<Buffer>> channels;

  void start() {
    task_line = __LINE__ + 2;
    for (int i = 0; i < kTasks; ++i)
      goro::go_spawn([g = gate] { hold_stack_until_closed(g); });
    channel_line = __LINE__ + 1;
    for (int i = 0; i < kChannels; ++i) channels.push_back(goro::Channel<Buffer>(kCapacity));
    ASSERT_TRUE(gt::eventually([&] {
      return goro::diag::count_by_reason()[goro::diag::WaitReason::chan_recv] >= std::size_t{kTasks};
    }));
  }
  void stop() {
    gate.close();
    channels.clear();
    ASSERT_TRUE(gt::eventually([] { return goro::num_tasks() == 0; }));
  }
};

const MemorySite* site_at(const goro::diag::MemoryUsage& m, MemoryKind kind, unsigned line) {
  for (const MemorySite& s : m.sites)
    if (s.kind == kind && s.site.line() == line &&
        std::string(s.site.file_name()).find("memory_test.cpp") != std::string::npos)
      return &s;
  return nullptr;
}

TEST(Memory, AttributesStacksAndTasksToTheSpawnSiteAndChannelsToTheirCreationSite) {
  Workload w;
  w.start();
  const goro::diag::MemoryUsage m = goro::diag::memory();

  const MemorySite* stack = site_at(m, MemoryKind::stack, w.task_line);
  const MemorySite* task = site_at(m, MemoryKind::task, w.task_line);
  const MemorySite* channel = site_at(m, MemoryKind::channel, w.channel_line);
  ASSERT_NE(stack, nullptr);
  ASSERT_NE(task, nullptr);
  ASSERT_NE(channel, nullptr);

  EXPECT_EQ(stack->objects, std::size_t{kTasks});
  EXPECT_GE(stack->bytes, kTasks * kTouchedStack);
  EXPECT_GE(stack->bytes, m.stack.bytes * 95 / 100) << "of " << m.stack.bytes;
  EXPECT_EQ(task->objects, std::size_t{kTasks});
  EXPECT_GE(task->bytes, kTasks * sizeof(void*) * 8);  // at least a record each

  EXPECT_EQ(channel->objects, std::size_t{kChannels});
  EXPECT_GE(channel->bytes, kChannels * kCapacity * sizeof(Buffer));
  EXPECT_LE(channel->bytes, kChannels * (kCapacity * sizeof(Buffer) + 1024));
  EXPECT_GE(channel->bytes, m.channel.bytes * 95 / 100) << "of " << m.channel.bytes;
  EXPECT_GE(channel->allocated_objects, std::size_t{kChannels});

  const std::size_t on_right_sites = stack->bytes + task->bytes + channel->bytes;
  EXPECT_GE(on_right_sites, m.total_bytes() * 95 / 100) << "of " << m.total_bytes();
  // Largest first.
  for (std::size_t i = 1; i < m.sites.size(); ++i) EXPECT_GE(m.sites[i - 1].bytes, m.sites[i].bytes);

  // The totals alone agree with the sites.
  const goro::diag::MemoryUsage totals = goro::diag::memory_totals();
  EXPECT_TRUE(totals.sites.empty());
  EXPECT_EQ(totals.channel.bytes, m.channel.bytes);
  EXPECT_EQ(totals.task.objects, m.task.objects);

  w.stop();
  const goro::diag::MemoryUsage after = goro::diag::memory();
  EXPECT_EQ(site_at(after, MemoryKind::stack, w.task_line), nullptr);
  const MemorySite* gone = site_at(after, MemoryKind::channel, w.channel_line);
  ASSERT_NE(gone, nullptr);  // kept for its allocated_* totals
  EXPECT_EQ(gone->objects, 0u);
  EXPECT_EQ(gone->bytes, 0u);
  EXPECT_GE(gone->allocated_bytes, kChannels * kCapacity * sizeof(Buffer));
}

TEST(Memory, ChannelsDefaultConstructedCountAtTheirOwnLine) {
  const unsigned line = __LINE__ + 1;
  goro::Channel<int> a, b, c;
  const goro::diag::MemoryUsage m = goro::diag::memory();
  const MemorySite* s = site_at(m, MemoryKind::channel, line);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->objects, 3u);
}

// The trend sampler records goro's memory with each sample and flags a site whose
// memory keeps climbing: here, tasks each holding 32 KiB of stack, 20 more per sample.
TEST(Memory, TrendFlagsASiteWhoseMemoryClimbs) {
  goro::diag::TrendOptions opts;
  opts.period = std::chrono::milliseconds(0);  // samples taken by hand
  opts.window = std::chrono::hours(1);
  opts.min_rise = 1000000;  // only memory is under test
  opts.min_memory_rise = 256 * 1024;
  goro::diag::start_trend(opts);
  goro::diag::reset_trend();

  goro::Channel<int> gate;
  unsigned line = 0;
  std::size_t spawned = 0;
  for (int sample = 0; sample < 6; ++sample) {
    for (int i = 0; i < 20; ++i, ++spawned) {
      line = __LINE__ + 1;
      goro::go_spawn([g = gate] { hold_stack_until_closed(g); });
    }
    ASSERT_TRUE(gt::eventually([&] {
      return goro::diag::count_by_reason()[goro::diag::WaitReason::chan_recv] >= spawned;
    }));
    const goro::diag::TrendSample s = goro::diag::sample_trend();
    EXPECT_GE(s.memory_bytes, spawned * kTouchedStack);
    ASSERT_FALSE(s.memory.empty());
  }
  gate.close();
  ASSERT_TRUE(gt::eventually([] { return goro::num_tasks() == 0; }));

  const goro::diag::PossibleLeak* found = nullptr;
  std::vector<goro::diag::PossibleLeak> leaks = goro::diag::possible_leaks();
  for (const auto& leak : leaks)
    if (leak.memory_kind == MemoryKind::stack && leak.site.line() == line) found = &leak;
  ASSERT_NE(found, nullptr) << leaks.size() << " flagged";
  EXPECT_GE(found->bytes, 100 * kTouchedStack);
  EXPECT_EQ(found->blocked, 100u);
  EXPECT_NE(found->message.find("of stack at memory_test.cpp:" + std::to_string(line)), std::string::npos)
      << found->message;
  EXPECT_NE(found->message.find("(100 tasks)"), std::string::npos) << found->message;
  goro::diag::stop_trend();
}

std::string heap_profile(int debug) {
  std::ostringstream out;
  EXPECT_TRUE(goro::diag::write_profile("heap", out, debug));
  return out.str();
}

TEST(HeapProfile, TextNamesTheSitesWithGoSampleLayout) {
  Workload w;
  w.start();
  const std::string text = heap_profile(1);
  w.stop();
  EXPECT_EQ(text.rfind("heap profile: ", 0), 0u) << text;
  EXPECT_NE(text.find("memory_test.cpp:" + std::to_string(w.task_line)), std::string::npos) << text;
  EXPECT_NE(text.find("memory_test.cpp:" + std::to_string(w.channel_line)), std::string::npos) << text;
  EXPECT_NE(text.find("\"kind\":\"stack\""), std::string::npos) << text;
}

TEST(HeapProfile, GoPprofTopNamesTheSiteHoldingTheMemory) {
  if (!gt::have_go()) GTEST_SKIP() << gt::kNoGo;
  Workload w;
  w.start();
  const std::string proto = heap_profile(0);
  w.stop();

  const gt::CommandResult top = gt::go_pprof("-sample_index=inuse_space -top -lines", proto);
  ASSERT_EQ(top.exit_code, 0) << top.output;
  // The first row of the table is the spawn site of the tasks (stack + records).
  const std::size_t header = top.output.find("flat%");
  ASSERT_NE(header, std::string::npos) << top.output;
  const std::size_t first_row = top.output.find('\n', header) + 1;
  const std::string row = top.output.substr(first_row, top.output.find('\n', first_row) - first_row);
  EXPECT_NE(row.find("memory_test.cpp:" + std::to_string(w.task_line)), std::string::npos) << top.output;

  const gt::CommandResult raw = gt::go_pprof("-raw", proto);
  ASSERT_EQ(raw.exit_code, 0) << raw.output;
  EXPECT_NE(raw.output.find("alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes"),
            std::string::npos)
      << raw.output;
  EXPECT_NE(raw.output.find("memory_test.cpp:" + std::to_string(w.channel_line)), std::string::npos)
      << raw.output;

  const gt::CommandResult objects = gt::go_pprof("-sample_index=inuse_objects -tagfocus=kind=channel -top -lines", proto);
  ASSERT_EQ(objects.exit_code, 0) << objects.output;
  EXPECT_NE(gt::line_with(objects.output, {"memory_test.cpp:" + std::to_string(w.channel_line)}), "")
      << objects.output;
  EXPECT_EQ(gt::leading_number(gt::line_with(objects.output, {"memory_test.cpp:" + std::to_string(w.channel_line)})),
            kChannels)
      << objects.output;
}

}  // namespace
