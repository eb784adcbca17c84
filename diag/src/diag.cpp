// diag/src/diag.cpp — readers of the runtime's task records.
//
// Snapshots walk the task registry shard by shard; each record is copied under its
// shard's lock (so it cannot be freed meanwhile), its wait record through the lock-free
// protocol of runtime/src/wait_record.hpp (so it is read whole, and what it points to
// is alive while we look). Nothing stops the scheduler. Captured stacks (capture_stacks)
// are copied as raw addresses under the locks and symbolized after they are released.
#include "goro/diag.hpp"
#include "goro/detail/timer.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <sstream>
#include <thread>
#include <tuple>
#include <unordered_map>

#include "goro/internal/inspect.hpp"
#include "text.hpp"
#include "goro/detail/channel_state.hpp"
#include "snapshot.hpp"
#include "symbolize.hpp"

namespace goro::diag {

namespace {

// Channels referenced by a snapshot: retained while the task is known to be parked on
// them (while pinned, the channel is alive), described after every registry lock is
// released (reading a channel takes its lock, which may wait for a task; nothing may
// wait for a task while it holds a registry lock that task could need), then released.
struct RetainedChannel {
  std::size_t task_index;
  detail::ChanBase* chan;
  bool sending;
};

// A socket address as Go prints it: "127.0.0.1:8080", "[::1]:80", "unix:/path"; empty
// when the fd is not a socket (or the call fails: the fd may be closed by now).
std::string socket_address(int fd, bool peer) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  if ((peer ? ::getpeername(fd, sa, &len) : ::getsockname(fd, sa, &len)) != 0) return {};
  char host[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  if (addr.ss_family == AF_UNIX) {
    const auto* un = reinterpret_cast<const sockaddr_un*>(&addr);
    const std::size_t path_len = len > offsetof(sockaddr_un, sun_path) ? len - offsetof(sockaddr_un, sun_path) : 0;
    if (path_len == 0) return "unix:";
    if (un->sun_path[0] == '\0') return "unix:@" + std::string(un->sun_path + 1, path_len - 1);
    return "unix:" + std::string(un->sun_path, strnlen(un->sun_path, path_len));
  }
  return {};
}

// "read fd 7 127.0.0.1:8080 <- 127.0.0.1:40312": the fd's direction and addresses.
// goro::net names its operation ("accept fd 5 127.0.0.1:8080") and, while dialing, the
// peer that getpeername cannot tell yet.
std::string describe_io_wait(const detail::IoWaitObject& io, const std::string& operation, const std::string& peer) {
  const bool reading = io.dir == detail::PollDir::read;
  std::string text = (operation.empty() ? std::string(reading ? "read" : "write") : operation) + " fd " +
                     std::to_string(io.fd);
  const std::string local = socket_address(io.fd, false);
  std::string remote = socket_address(io.fd, true);
  if (remote.empty()) remote = peer;
  if (!local.empty()) text += " " + local;
  if (!remote.empty()) text += (reading ? " <- " : " -> ") + remote;
  return text;
}

TaskInfo snapshot_of(const detail::TaskRecord& t, std::int64_t now, std::size_t index,
                     std::vector<RetainedChannel>& channels, internal::RawStacks& stacks) {
  TaskInfo info;
  info.id = t.id;
  info.name = detail::task_name(t);
  info.spawn_site = t.spawn_site;
  info.parent = t.parent;
  info.origin = t.origin;
  std::optional<detail::IoWaitObject> io;
  std::string io_operation, io_peer;
  const detail::WaitRecordCopy record = detail::read_wait_record(t, [&](const detail::WaitRecordCopy& r) {
    // Pinned: the channels, the select's waiters and the pcs are alive (wait_record.hpp).
    auto retain = [&](const void* chan, bool sending) {
      auto* c = const_cast<detail::ChanBase*>(static_cast<const detail::ChanBase*>(chan));
      c->refs.fetch_add(1, std::memory_order_relaxed);
      channels.push_back({index, c, sending});
    };
    const detail::WaitSite& site = r.site;
    if (site.reason == WaitReason::io_wait && site.object) {
      io = *static_cast<const detail::IoWaitObject*>(site.object);
      if (io->operation) io_operation = io->operation;
      if (io->peer) io_peer = io->peer;
    } else if (site.reason == WaitReason::chan_send || site.reason == WaitReason::chan_recv) {
      if (site.object) retain(site.object, site.reason == WaitReason::chan_send);
    } else if (site.reason == WaitReason::select) {
      for (std::uint32_t i = 0; i < site.waiter_count; ++i)
        retain(site.waiters[i].chan, site.waiters[i].sending);
    }
    if (const detail::WaitStack* ws = t.wait_stack.get(); ws != nullptr && r.stack_depth > 0) {
      const std::uint32_t depth = std::min<std::uint32_t>(r.stack_depth, detail::WaitStack::kMaxFrames);
      stacks.ranges.push_back({index, stacks.pcs.size(), depth});
      stacks.pcs.insert(stacks.pcs.end(), ws->pcs, ws->pcs + depth);
    }
  });
  info.reason = record.site.reason;
  if (info.reason == WaitReason::none) return info;
  info.wait_site = record.site.where;
  info.blocked_for = std::chrono::nanoseconds(std::max<std::int64_t>(0, now - record.since_ns));
  if (io) info.wait_detail = describe_io_wait(*io, io_operation, io_peer);  // syscalls: after unpinning the task
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
      if (rc.chan->name) ci.name = *rc.chan->name;
      ci.size = rc.chan->count;
      ci.closed = rc.chan->closed;
    }
    out[rc.task_index].channels.push_back(std::move(ci));
    if (rc.chan->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) rc.chan->destroy(rc.chan);
  }
}

bool contains_any(std::string_view text, const std::vector<std::string>& needles) {
  for (const auto& n : needles)
    if (!n.empty() && text.find(n) != std::string_view::npos) return true;
  return false;
}

void describe_channel(std::ostream& text, const ChannelInfo& c) {
  if (c.capacity == 0)
    text << "unbuffered";
  else
    text << "buffered " << c.size << "/" << c.capacity;
  if (c.closed) text << ", closed";
  if (!c.name.empty()) text << " \"" << c.name << "\"";
}

// Reorders v by `less` through an index (a TaskInfo is large to move around).
template <class Less>
void sort_by_index(std::vector<TaskInfo>& v, Less less) {
  std::vector<std::uint32_t> order(v.size());
  for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  auto cmp = [&](std::uint32_t a, std::uint32_t b) { return less(v[a], v[b]); };
  if (std::is_sorted(order.begin(), order.end(), cmp)) return;
  std::sort(order.begin(), order.end(), cmp);
  std::vector<TaskInfo> sorted;
  sorted.reserve(v.size());
  for (auto i : order) sorted.push_back(std::move(v[i]));
  v = std::move(sorted);
}

// Oldest wait first; ties (same coarse-clock tick) by id, i.e. by spawn order.
void sort_oldest_first(std::vector<TaskInfo>& v) {
  sort_by_index(v, [](const TaskInfo& a, const TaskInfo& b) {
    if (a.blocked_for != b.blocked_for) return a.blocked_for > b.blocked_for;
    return a.id < b.id;
  });
}

// Group key: reason, wait site, spawn site. The strings are source_location's static
// storage, so views are enough.
struct GroupKey {
  WaitReason reason;
  bool leaked;  // provably leaked tasks never share a group with others
  std::string_view wait_file, wait_fn, spawn_file;
  std::uint_least32_t wait_line, spawn_line;
  bool operator<(const GroupKey& o) const {
    return std::tie(reason, leaked, wait_line, spawn_line, wait_file, wait_fn, spawn_file) <
           std::tie(o.reason, o.leaked, o.wait_line, o.spawn_line, o.wait_file, o.wait_fn,
                    o.spawn_file);
  }
};

GroupKey key_of(const TaskInfo& t) {
  GroupKey k{t.reason, t.leaked, "", "", t.spawn_site.file_name(), 0, t.spawn_site.line()};
  if (t.reason != WaitReason::none) {
    k.wait_file = t.wait_site.file_name();
    k.wait_fn = t.wait_site.function_name();
    k.wait_line = t.wait_site.line();
  }
  return k;
}

void print_goro_group(std::ostream& text, const std::vector<const TaskInfo*>& members,
                      const DumpOptions& opts) {
  const TaskInfo& oldest = *members.front();
  const bool blocked = oldest.reason != WaitReason::none;
  if (members.size() == 1) {
    text << "\ntask " << oldest.id;
    if (!oldest.name.empty()) text << " \"" << oldest.name << "\"";
    text << " [" << to_string(oldest.reason);
    if (blocked) text << ", " << age_string(oldest.blocked_for);
    if (oldest.leaked) text << ", leaked";
    text << "]:\n";
  } else {
    text << "\n" << count_string(members.size()) << " tasks [" << to_string(oldest.reason);
    if (blocked)
      text << ", " << age_string(members.back()->blocked_for) << ".."
           << age_string(oldest.blocked_for);
    if (oldest.leaked) text << ", leaked";
    text << "]:\n";
    text << "    ids:";
    std::size_t shown = std::min(members.size(), std::max<std::size_t>(opts.max_ids_per_group, 1));
    for (std::size_t i = 0; i < shown; ++i) {
      text << " " << members[i]->id;
      if (!members[i]->name.empty()) text << " \"" << members[i]->name << "\"";
    }
    if (shown < members.size()) text << " ... (" << count_string(members.size()) << " in all)";
    text << "\n";
  }
  if (blocked) {
    text << "    at " << site_string(oldest.wait_site) << " in " << oldest.wait_site.function_name()
         << "\n";
    if (!oldest.wait_detail.empty())
      text << "    " << oldest.wait_detail << (members.size() > 1 ? " (the oldest)" : "") << "\n";
    // Captured stack (capture_stacks), the oldest member's.
    for (const auto& frame : oldest.stack) text << "        " << frame << "\n";
  }
  if (!oldest.channels.empty()) {
    // Distinct channels across the group (members usually share one, or have one each).
    std::vector<const void*> ids;
    for (const TaskInfo* m : members)
      for (const auto& c : m->channels) ids.push_back(c.id);
    std::sort(ids.begin(), ids.end());
    std::size_t distinct = std::unique(ids.begin(), ids.end()) - ids.begin();
    std::size_t others = distinct > oldest.channels.size() ? distinct - oldest.channels.size() : 0;
    if (oldest.reason == WaitReason::select) {
      for (const auto& c : oldest.channels) {
        text << "    case " << (c.sending ? "send on " : "recv on ");
        describe_channel(text, c);
        text << "\n";
      }
    } else {
      text << "    chan: ";
      describe_channel(text, oldest.channels.front());
      text << "\n";
    }
    if (others > 0)
      text << "    (" << members.size() << " tasks on " << count_string(distinct)
           << " distinct channels; the oldest's shown)\n";
  }
  // Spawner: the parents of the group's members (0: a plain thread).
  std::vector<TaskId> parents;
  for (const TaskInfo* m : members) parents.push_back(m->parent);
  std::sort(parents.begin(), parents.end());
  parents.erase(std::unique(parents.begin(), parents.end()), parents.end());
  text << "    created by ";
  if (parents.size() == 1) {
    text << (oldest.parent ? "task " + std::to_string(oldest.parent) : std::string("a plain thread"));
  } else {
    text << count_string(parents.size()) << " tasks (";
    std::size_t shown = std::min(parents.size(), std::max<std::size_t>(opts.max_ids_per_group, 1));
    for (std::size_t i = 0; i < shown; ++i) {
      if (i) text << " ";
      if (parents[i]) text << parents[i]; else text << "a plain thread";
    }
    if (shown < parents.size()) text << " ...";
    text << ")";
  }
  text << " at " << site_string(oldest.spawn_site) << "\n";
}

std::string go_file(const std::source_location& s, const DumpOptions& opts) {
  std::string f = s.file_name();
  auto ends_with = [&](std::string_view suf) {
    return f.size() >= suf.size() && f.compare(f.size() - suf.size(), suf.size(), suf) == 0;
  };
  if (!ends_with(".go") && !ends_with(".c") && !ends_with(".s")) f += opts.go_file_suffix;
  return f;
}

// One goroutine as runtime/traceback.go prints it (goroutineheader + frames + created by).
// go_function_name is not free: remember it per function (source_location strings are
// static, so their addresses identify them).
using GoNameCache = std::map<const char*, std::string>;
const std::string& cached_go_name(GoNameCache& cache, const char* fn) {
  auto it = cache.find(fn);
  if (it == cache.end()) it = cache.emplace(fn, go_function_name(fn)).first;
  return it->second;
}

// A captured frame in the Go format: "name(...)\n\t/src/app.cpp.go:42 +0x0" with line
// information; without, the module as the file, line 0 and the offset in the function
// (or in the module for an unnamed one): "name(...)\n\t/bin/app.go:0 +0x2d".
std::string go_frame(std::string_view text, const DumpOptions& opts) {
  const internal::SourceFrame f = internal::parse_frame_text(text);
  std::string file = !f.file.empty() ? f.file : !f.module.empty() ? f.module : std::string("unknown");
  std::uintptr_t offset = f.file.empty() ? (f.has_function_offset ? f.function_offset : f.module_offset) : 0;
  if (!opts.go_file_suffix.empty()) file += opts.go_file_suffix;
  char hex_offset[2 + 2 * sizeof offset + 1];
  std::snprintf(hex_offset, sizeof hex_offset, "0x%zx", static_cast<std::size_t>(offset));
  return (f.function.empty() ? std::string("main.unknown") : go_function_name(f.function)) + "(...)\n\t" +
         file + ":" + std::to_string(f.line) + " +" + hex_offset + "\n";
}

void print_go_task(std::ostream& text, const TaskInfo& t, const DumpOptions& opts,
                   GoNameCache& names, std::unordered_map<std::string, std::string>& frames) {
  text << "goroutine " << t.id << " [";
  if (t.reason == WaitReason::none) {
    text << "runnable";
  } else {
    text << to_string(t.reason);
    if (t.leaked) text << " (leaked)";  // inside the state word, where Go tools expect text
    auto minutes = std::chrono::duration_cast<std::chrono::minutes>(t.blocked_for).count();
    if (minutes >= 1) text << ", " << minutes << " minutes";
  }
  text << "]:\n";
  // The top frame: the wait site (a task that is not blocked shows its spawn site).
  const std::source_location& top = t.reason != WaitReason::none ? t.wait_site : t.spawn_site;
  text << cached_go_name(names, top.function_name()) << "(...)\n\t" << go_file(top, opts) << ":"
       << top.line() << " +0x0\n";
  // Its callers from the captured stack (stack[0] is the wait site's function, printed
  // above with its line).
  if (t.reason != WaitReason::none)
    for (std::size_t i = 1; i < t.stack.size(); ++i) {
      auto it = frames.find(t.stack[i]);
      if (it == frames.end()) it = frames.emplace(t.stack[i], go_frame(t.stack[i], opts)).first;
      text << it->second;
    }
  text << "created by " << cached_go_name(names, t.spawn_site.function_name());
  if (t.parent != 0) text << " in goroutine " << t.parent;
  text << "\n\t" << go_file(t.spawn_site, opts) << ":" << t.spawn_site.line() << " +0x0\n\n";
}

}  // namespace

std::vector<TaskInfo> internal::snapshot_tasks(
    const std::function<void(const internal::TaskVisit&)>& visit) {
  std::vector<TaskInfo> out;
  std::vector<RetainedChannel> channels;
  std::vector<detail::ChanBase*> waits;
  internal::RawStacks stacks;
  const detail::WaitRecordReaders reading;
  const std::int64_t now = detail::coarse_now_ns();
  detail::registry_for_each([&](const detail::TaskRecord& t) {
    const std::uint32_t epoch = t.park_epoch.load(std::memory_order_acquire);
    const std::size_t first_channel = channels.size();
    out.push_back(snapshot_of(t, now, out.size(), channels, stacks));
    if (!visit) return;
    waits.clear();
    for (std::size_t i = first_channel; i < channels.size(); ++i) waits.push_back(channels[i].chan);
    visit({t, epoch, out.size() - 1, out.back(), waits});
  });
  describe_channels(out, channels);
  internal::symbolize_stacks(out, stacks);
  return out;
}

bool internal::still_waiting(const detail::TaskRecord& t) noexcept {
  return t.wait_site.load(std::memory_order_acquire) != nullptr;
}

std::vector<TaskInfo> tasks() {
  std::vector<TaskInfo> out = internal::tasks_with_verdicts();
  sort_by_index(out, [](const TaskInfo& a, const TaskInfo& b) { return a.id < b.id; });
  return out;
}

std::vector<TaskInfo> leaked_tasks() {
  std::vector<TaskInfo> out;
  for (auto& t : tasks())
    if (t.leaked) out.push_back(std::move(t));
  return out;
}

std::vector<TaskInfo> blocked_tasks(std::chrono::nanoseconds min_age) {
  std::vector<TaskInfo> out;
  for (auto& t : tasks())
    if (is_channel_wait(t.reason) && t.blocked_for >= min_age) out.push_back(std::move(t));
  sort_oldest_first(out);
  return out;
}

std::size_t dump_tasks(std::ostream& out, std::vector<TaskInfo> list, const DumpOptions& opts) {
  sort_oldest_first(list);
  std::ostringstream text;
  if (opts.format == DumpFormat::go) {
    GoNameCache names;
    std::unordered_map<std::string, std::string> frames;  // captured frame -> Go lines
    for (const auto& t : list) print_go_task(text, t, opts, names, frames);
  } else {
    // Group identical (reason, wait site, spawn site); a group sits where its oldest
    // member would, so groups come oldest first.
    std::map<GroupKey, std::size_t> index;
    std::vector<std::vector<const TaskInfo*>> groups;
    for (const auto& t : list) {
      auto [it, fresh] = index.try_emplace(key_of(t), groups.size());
      if (fresh) groups.emplace_back();
      groups[it->second].push_back(&t);
    }
    text << "goro: " << count_string(list.size()) << " task" << (list.size() == 1 ? "" : "s");
    if (groups.size() != list.size())
      text << " in " << count_string(groups.size()) << " group" << (groups.size() == 1 ? "" : "s");
    const auto leaked =
        static_cast<std::size_t>(std::count_if(list.begin(), list.end(), [](const TaskInfo& t) { return t.leaked; }));
    if (leaked > 0) text << ", " << count_string(leaked) << " provably leaked";
    text << "\n";
    for (const auto& g : groups) print_goro_group(text, g, opts);
  }
  out << text.str();
  out.flush();
  return list.size();
}

std::size_t dump_blocked(std::ostream& out, const DumpOptions& opts) {
  return dump_tasks(out, blocked_tasks(opts.min_age), opts);
}

std::size_t dump_blocked(std::ostream& out) { return dump_blocked(out, DumpOptions{}); }

std::string go_function_name(std::string_view fn) {
  // Drop g++'s " [with T = ...]" and everything in (...) and <...> except a lambda's
  // marker; keep the last space-separated token that is not a qualifier.
  if (auto with = fn.find(" [with "); with != std::string_view::npos) fn = fn.substr(0, with);
  std::string flat;
  int depth = 0;
  int lambdas = 0;
  for (std::size_t i = 0; i < fn.size(); ++i) {
    char c = fn[i];
    if (c == '(' || c == '<' || c == '[' || c == '{') {
      if (depth == 0 && c == '<' && fn.substr(i, 7) == "<lambda") flat += "func" + std::to_string(++lambdas);
      if (depth == 0 && c == '{' && fn.substr(i, 13) == "{anonymous}::") {
        i += 12;  // an anonymous namespace adds nothing a reader needs
        continue;
      }
      // "operator<", "operator()" and friends: keep the operator, skip the symbol.
      ++depth;
      continue;
    }
    if (c == ')' || c == '>' || c == ']' || c == '}') {
      if (depth > 0) --depth;
      continue;
    }
    if (depth == 0) flat += c;
  }
  // Qualifiers that follow a (removed) parameter list: "f() const", "<lambda()> mutable".
  for (std::string_view q : {" mutable", " const", " volatile", " noexcept", " &&", " &"}) {
    for (std::size_t p = flat.find(q); p != std::string::npos; p = flat.find(q, p)) {
      std::size_t end = p + q.size();
      if (end == flat.size() || flat[end] == ':' || flat[end] == ' ')
        flat.erase(p, q.size());
      else
        p = end;
    }
  }
  // The name is the last space-separated token ("void ns::f" -> "ns::f").
  std::string best = flat.substr(flat.rfind(' ') == std::string::npos ? 0 : flat.rfind(' ') + 1);
  std::string out;
  for (std::size_t i = 0; i < best.size(); ++i) {
    char c = best[i];
    if (c == ':' && i + 1 < best.size() && best[i + 1] == ':') {
      out += '.';
      ++i;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_') {
      out += c;
    } else {
      out += '_';
    }
  }
  while (!out.empty() && out.front() == '.') out.erase(out.begin());
  while (!out.empty() && out.back() == '.') out.pop_back();
  if (out.empty()) out = "unknown";
  if (out.find('.') == std::string::npos) out = "main." + out;
  return out;
}

std::vector<TaskId> ignore_current() {
  std::vector<TaskId> ids;
  for (const auto& t : internal::snapshot_tasks(nullptr)) ids.push_back(t.id);
  return ids;
}

bool is_ignored(const TaskInfo& t, const LeakOptions& opts) {
  if (std::find(opts.ignore_ids.begin(), opts.ignore_ids.end(), t.id) != opts.ignore_ids.end())
    return true;
  if (contains_any(t.name, opts.ignore_names)) return true;
  if (!opts.ignore_spawn_sites.empty() &&
      contains_any(site_string(t.spawn_site) + " " + t.spawn_site.function_name(),
                   opts.ignore_spawn_sites))
    return true;
  if (t.reason != WaitReason::none && !opts.ignore_wait_sites.empty() &&
      contains_any(site_string(t.wait_site) + " " + t.wait_site.function_name(),
                   opts.ignore_wait_sites))
    return true;
  if (opts.ignore_if && opts.ignore_if(t)) return true;
  return false;
}

std::vector<TaskInfo> find_leaks(LeakOptions opts) {
  const TaskId self = current_task();
  if (opts.only_provable) {
    // A provable leak is final (it cannot finish by itself): no waiting, one analysis.
    std::vector<TaskInfo> leaked;
    for (auto& t : tasks())
      if (t.leaked && t.id != self && !is_ignored(t, opts)) leaked.push_back(std::move(t));
    return leaked;
  }
  std::sort(opts.ignore_ids.begin(), opts.ignore_ids.end());
  auto filter = [&](std::vector<TaskInfo> all) {
    std::vector<TaskInfo> kept;
    for (auto& t : all) {
      if (t.id == self) continue;
      if (std::binary_search(opts.ignore_ids.begin(), opts.ignore_ids.end(), t.id)) continue;
      if (is_ignored(t, opts)) continue;
      kept.push_back(std::move(t));
    }
    return kept;
  };
  // goleak's Find: retry until nothing is left or the deadline passes; the wait between
  // attempts doubles (10 us .. 50 ms) and never overshoots the deadline.
  // Saturated: max_wait = milliseconds::max() waits "forever", a negative one looks once.
  const std::int64_t deadline = detail::deadline_after_ns(detail::saturating_ns(opts.max_wait));
  auto backoff = std::chrono::microseconds(10);
  for (;;) {
    auto leaks = filter(internal::snapshot_tasks(nullptr));  // verdicts only at the end
    const std::int64_t now = detail::now_ns();
    if (leaks.empty()) return leaks;
    if (now >= deadline) {
      internal::mark_provable_leaks(leaks);
      sort_by_index(leaks, [](const TaskInfo& a, const TaskInfo& b) { return a.id < b.id; });
      return leaks;
    }
    const auto left = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::nanoseconds(deadline - now));
    goro::sleep_for(std::min(backoff, left) + std::chrono::microseconds(1));
    backoff = std::min(backoff * 2, std::chrono::microseconds(50'000));
  }
}

}  // namespace goro::diag
