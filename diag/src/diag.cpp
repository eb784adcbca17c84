// diag/src/diag.cpp — readers of the runtime's task records.
//
// Snapshots walk the task registry shard by shard; each record is copied under its
// shard's lock (so it cannot be freed meanwhile) and its own record_lock (so the wait
// record is read whole). Nothing stops the scheduler.
#include "goro/diag.hpp"

#include <algorithm>
#include <map>
#include <sstream>
#include <thread>
#include <tuple>

#include "../../runtime/src/registry.hpp"
#include "goro/detail/channel_state.hpp"

namespace goro::diag {

namespace {

// Channels referenced by a snapshot: retained while the task is known to be parked on
// them (under its record_lock the channel is alive), described after every registry
// lock is released (a channel lock must never be taken under a record lock: the parking
// task takes them in the other order), then released.
struct RetainedChannel {
  std::size_t task_index;
  detail::ChanBase* chan;
  bool sending;
};

TaskInfo snapshot_of(const detail::TaskRecord& t, std::int64_t now, std::size_t index,
                     std::vector<RetainedChannel>& channels) {
  TaskInfo info;
  info.id = t.id;
  info.name = t.name;
  info.spawn_site = t.spawn_site;
  info.parent = t.parent;
  info.origin = t.origin;
  std::lock_guard guard(t.record_lock);
  info.reason = t.wait_reason;
  if (info.reason == WaitReason::none) return info;
  info.wait_site = t.wait_site;
  info.blocked_for = std::chrono::nanoseconds(std::max<std::int64_t>(0, now - t.blocked_since_ns));
  auto retain = [&](const void* chan, bool sending) {
    auto* c = const_cast<detail::ChanBase*>(static_cast<const detail::ChanBase*>(chan));
    c->refs.fetch_add(1, std::memory_order_relaxed);
    channels.push_back({index, c, sending});
  };
  if (info.reason == WaitReason::chan_send || info.reason == WaitReason::chan_recv) {
    if (t.wait_object) retain(t.wait_object, info.reason == WaitReason::chan_send);
  } else if (info.reason == WaitReason::select) {
    for (std::uint32_t i = 0; i < t.wait_waiter_count; ++i)
      retain(t.wait_waiters[i].chan, t.wait_waiters[i].sending);
  }
  return info;
}

void describe_channels(std::vector<TaskInfo>& out, std::vector<RetainedChannel>& channels) {
  for (const RetainedChannel& rc : channels) {
    ChannelInfo ci;
    ci.id = rc.chan;
    ci.sending = rc.sending;
    ci.capacity = rc.chan->cap;
    {
      std::lock_guard guard(rc.chan->lock);
      ci.name = rc.chan->name;
      ci.size = rc.chan->count;
      ci.closed = rc.chan->closed;
    }
    out[rc.task_index].channels.push_back(std::move(ci));
    if (rc.chan->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) rc.chan->destroy(rc.chan);
  }
}

std::string site_string(const std::source_location& s) {
  return std::string(s.file_name()) + ":" + std::to_string(s.line());
}

std::string age_string(std::chrono::nanoseconds d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  if (ms < 1000) return std::to_string(ms) + "ms";
  auto s = ms / 1000;
  if (s < 60) return std::to_string(s) + "." + std::to_string((ms % 1000) / 100) + "s";
  auto m = s / 60;
  if (m < 60) return std::to_string(m) + "m" + std::to_string(s % 60) + "s";
  return std::to_string(m / 60) + "h" + std::to_string(m % 60) + "m";
}

bool contains_any(const std::string& text, const std::vector<std::string>& needles) {
  for (const auto& n : needles)
    if (!n.empty() && text.find(n) != std::string::npos) return true;
  return false;
}

}  // namespace

std::vector<TaskInfo> tasks() {
  std::vector<TaskInfo> out;
  std::vector<RetainedChannel> channels;
  const std::int64_t now = detail::coarse_now_ns();
  detail::registry_for_each([&](const detail::TaskRecord& t) {
    out.push_back(snapshot_of(t, now, out.size(), channels));
  });
  describe_channels(out, channels);
  std::sort(out.begin(), out.end(), [](const TaskInfo& a, const TaskInfo& b) { return a.id < b.id; });
  return out;
}

std::vector<TaskInfo> leaked_tasks() { return {}; }

std::vector<TaskInfo> blocked_tasks(std::chrono::nanoseconds min_age) {
  std::vector<TaskInfo> out;
  for (auto& t : tasks())
    if (is_channel_wait(t.reason) && t.blocked_for >= min_age) out.push_back(std::move(t));
  std::stable_sort(out.begin(), out.end(), [](const TaskInfo& a, const TaskInfo& b) {
    return a.blocked_for > b.blocked_for;
  });
  return out;
}

std::size_t dump_blocked(std::ostream& out) {
  auto blocked = blocked_tasks();
  // Group identical (reason, wait site, spawn site), keeping oldest-first order.
  using Key = std::tuple<WaitReason, std::string, std::string>;
  std::vector<Key> order;
  std::map<Key, std::vector<const TaskInfo*>> groups;
  for (const auto& t : blocked) {
    Key key{t.reason, site_string(t.wait_site) + " " + t.wait_site.function_name(),
            site_string(t.spawn_site)};
    auto [it, fresh] = groups.try_emplace(key);
    if (fresh) order.push_back(key);
    it->second.push_back(&t);
  }
  std::ostringstream text;
  text << "goro: " << blocked.size() << " blocked task" << (blocked.size() == 1 ? "" : "s") << "\n";
  for (const auto& key : order) {
    const auto& members = groups[key];
    const TaskInfo& oldest = *members.front();
    if (members.size() == 1) {
      text << "\ntask " << oldest.id;
      if (!oldest.name.empty()) text << " \"" << oldest.name << "\"";
      text << " [" << to_string(oldest.reason) << ", " << age_string(oldest.blocked_for) << "]:\n";
    } else {
      text << "\n" << members.size() << " tasks [" << to_string(oldest.reason) << ", "
           << age_string(members.back()->blocked_for) << ".." << age_string(oldest.blocked_for)
           << "]:\n";
    }
    text << "    " << oldest.wait_site.function_name() << "\n        "
         << site_string(oldest.wait_site) << "\n";
    text << "    created by " << (oldest.parent ? "task " + std::to_string(oldest.parent) : std::string("a plain thread"))
         << " at " << site_string(oldest.spawn_site) << "\n";
  }
  out << text.str();
  out.flush();
  return blocked.size();
}

std::vector<TaskId> ignore_current() {
  std::vector<TaskId> ids;
  for (const auto& t : tasks()) ids.push_back(t.id);
  return ids;
}

std::vector<TaskInfo> find_leaks(LeakOptions opts) {
  const TaskId self = current_task();
  auto filter = [&](std::vector<TaskInfo> all) {
    std::vector<TaskInfo> kept;
    for (auto& t : all) {
      if (t.id == self) continue;
      if (std::find(opts.ignore_ids.begin(), opts.ignore_ids.end(), t.id) != opts.ignore_ids.end())
        continue;
      if (contains_any(t.name, opts.ignore_names)) continue;
      if (contains_any(site_string(t.spawn_site) + " " + t.spawn_site.function_name(),
                       opts.ignore_spawn_sites))
        continue;
      if (t.reason != WaitReason::none &&
          contains_any(site_string(t.wait_site) + " " + t.wait_site.function_name(),
                       opts.ignore_wait_sites))
        continue;
      kept.push_back(std::move(t));
    }
    return kept;
  };
  const auto deadline = std::chrono::steady_clock::now() + opts.max_wait;
  auto backoff = std::chrono::microseconds(100);
  for (;;) {
    auto leaks = filter(tasks());
    if (leaks.empty() || std::chrono::steady_clock::now() >= deadline) return leaks;
    auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - std::chrono::steady_clock::now());
    goro::sleep_for(std::min(backoff, left));
    backoff = std::min(backoff * 2, std::chrono::microseconds(50'000));
  }
}

}  // namespace goro::diag
