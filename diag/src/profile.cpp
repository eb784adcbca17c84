// diag/src/profile.cpp — pprof profiles of goro's tasks (goro/profile.hpp):
// write_profile picks a profile by name and a writer by debug level (pprof.hpp). Here
// are the profiles built from snapshots (goroutine, goroutineleak, threadcreate, heap)
// and the frames of task stacks; the block and mutex profiles, which keep tables the
// runtime fills, are in contention_profiles.cpp. Nothing here keeps state or takes a lock
// of its own: tasks(), memory() and created_threads() take the locks they need.
#include "goro/profile.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "goro/internal/inspect.hpp"
#include "goro/diag.hpp"
#include "goro/memory.hpp"
#include "pprof.hpp"
#include "symbolize.hpp"

namespace goro::diag {

namespace pprof {

void sort_by_value(Profile& p, std::size_t index) {
  std::stable_sort(p.samples.begin(), p.samples.end(),
                   [index](const Sample& a, const Sample& b) { return a.values[index] > b.values[index]; });
}

// ------------------------------------------------------------------ stacks of tasks

// A function name as pprof shows it well. pprof drops (...) and <...> from C++ names,
// which turns g++'s "f()::<lambda()> mutable" into "f:: mutable"; so lambdas become
// "{lambda}", trailing qualifiers and the return type go, and g++'s " [with T = ...]"
// goes: "std::string ns::f(int)::<lambda()> mutable" -> "ns::f(int)::{lambda}".
std::string pprof_function_name(std::string_view fn) {
  if (auto with = fn.find(" [with "); with != std::string_view::npos) fn = fn.substr(0, with);
  std::string out;
  int depth = 0;             // inside (...) or <...>
  std::size_t name_start = 0;  // after the last top-level space before the parameters
  bool params_seen = false;
  for (std::size_t i = 0; i < fn.size(); ++i) {
    const char c = fn[i];
    if (depth == 0 && fn.substr(i, 7) == "<lambda") {
      int d = 0;  // skip to the matching '>'
      for (; i < fn.size(); ++i) {
        if (fn[i] == '<' || fn[i] == '(') ++d;
        if ((fn[i] == '>' || fn[i] == ')') && --d == 0) break;
      }
      out += "{lambda}";
      continue;
    }
    if (c == '(' || c == '<') {
      if (c == '(' && depth == 0) params_seen = true;
      ++depth;
    } else if ((c == ')' || c == '>') && depth > 0) {
      --depth;
    } else if (c == ' ' && depth == 0) {
      if (!params_seen) {
        name_start = out.size() + 1;  // what came before was the return type
      } else {
        // " const", " mutable", ... after a parameter list: drop the qualifier.
        std::size_t end = fn.find_first_of(" :", i + 1);
        i = (end == std::string_view::npos ? fn.size() : end) - 1;
        continue;
      }
    }
    out += c;
  }
  return name_start < out.size() ? out.substr(name_start) : out;
}

Frame site_frame(const std::source_location& s) {
  return {pprof_function_name(s.function_name()), s.file_name(),
          static_cast<std::int64_t>(s.line())};
}

// Go ends a goroutine's traceback with "created by <fn>" at the go statement; so do we.
Frame created_by_frame(const std::source_location& s) {
  return {"created by " + pprof_function_name(s.function_name()), s.file_name(),
          static_cast<std::int64_t>(s.line())};
}


namespace {

// A captured frame (TaskInfo::stack) as a pprof frame: its function, file and line
// (Function.name/filename, Line.line); without line information the module is the file
// and the line 0; unnamed, the text itself (it keeps the module offset, for addr2line).
Frame captured_frame(std::string_view text) {
  const internal::SourceFrame source = internal::parse_frame_text(text);
  Frame f;
  f.function = source.function.empty() ? std::string(text) : source.function;
  f.file = source.file.empty() ? source.module : source.file;
  f.line = source.line;
  return f;
}

std::vector<Frame> task_stack(const TaskInfo& t) {
  std::vector<Frame> stack;
  if (t.reason != WaitReason::none) {
    stack.push_back(site_frame(t.wait_site));
    // stack[0] is the wait site's own function, already there with its line.
    for (std::size_t i = 1; i < t.stack.size(); ++i) stack.push_back(captured_frame(t.stack[i]));
  }
  stack.push_back(created_by_frame(t.spawn_site));
  return stack;
}

Labels task_labels(const TaskInfo& t) {
  Labels l{{"reason", std::string(to_string(t.reason))}, {"leaked", t.leaked ? "true" : "false"}};
  if (!t.name.empty()) l["name"] = t.name;
  return l;
}


}  // namespace

// Go's goroutine profile: one sample per distinct (stack, labels), value = how many.
Profile count_profile(const std::vector<TaskInfo>& list, const std::string& name) {
  Profile p;
  p.sample_types = {{name, "count"}};
  p.period_type = {name, "count"};
  std::map<std::pair<std::vector<Frame>, Labels>, std::int64_t> counts;
  for (const auto& t : list) ++counts[{task_stack(t), task_labels(t)}];
  for (auto& [key, n] : counts) p.samples.push_back({key.first, key.second, {n}});
  // Biggest first, as Go sorts its keys by count.
  sort_by_value(p, 0);
  return p;
}

// ------------------------------------------------------------------ threadcreate profile

// One sample per (creating call, kind): the call that started the threads, under a
// "created by <kind>" frame, valued by how many of them run now.
Profile threadcreate_profile() {
  Profile p;
  p.sample_types = {{"threadcreate", "count"}};
  p.period_type = {"threadcreate", "count"};
  std::map<std::vector<Frame>, std::int64_t> counts;
  for (const detail::ThreadCreation& t : detail::created_threads())
    ++counts[{site_frame(t.created_at),
              {std::string("created by ") + t.kind, t.created_at.file_name(),
               static_cast<std::int64_t>(t.created_at.line())}}];
  for (auto& [stack, n] : counts) p.samples.push_back({stack, {}, {n}});
  sort_by_value(p, 0);
  return p;
}

// ------------------------------------------------------------------ heap profile

// Go's heap profile over goro's own memory (goro/memory.hpp): one sample per (site,
// kind), the site as its only frame, so that `go tool pprof -sample_index=inuse_space
// -top` names the go_spawn or Channel line holding the memory. Sample types in Go's
// order; inuse_space, the last, is pprof's default.
Profile heap_profile() {
  Profile p;
  p.sample_types = {{"alloc_objects", "count"}, {"alloc_space", "bytes"},
                    {"inuse_objects", "count"}, {"inuse_space", "bytes"}};
  p.period_type = {"space", "bytes"};
  for (const MemorySite& m : memory().sites) {
    if (m.objects == 0 && m.allocated_objects == 0) continue;
    Sample s;
    s.stack = {site_frame(m.site)};
    s.labels = {{"kind", std::string(to_string(m.kind))}};
    s.values = {static_cast<std::int64_t>(m.allocated_objects), static_cast<std::int64_t>(m.allocated_bytes),
                static_cast<std::int64_t>(m.objects), static_cast<std::int64_t>(m.bytes)};
    p.samples.push_back(std::move(s));
  }
  return p;
}

}  // namespace pprof

bool write_profile(std::ostream& out, std::string_view name, int debug) {
  using namespace pprof;
  if (debug < 0 || debug > 2) return false;
  if (name == "goroutine" || name == "goroutineleak") {
    std::vector<TaskInfo> list = name == "goroutine" ? tasks() : leaked_tasks();
    if (debug == 2) {
      dump_tasks(out, std::move(list), {.format = DumpFormat::go});
      return true;
    }
    const Profile p = count_profile(list, std::string(name));
    if (debug == 1) write_count_text(out, p, std::string(name));
    else write_proto(out, p);
    return true;
  }
  // The others: debug=1 and 2 are the same text.
  Profile p;
  std::function<void()> write_text;
  if (name == "block") {
    p = block_profile();
    write_text = [&] { write_cycles_text(out, p, "--- contention:\ncycles/second=1000000000\n"); };
  } else if (name == "mutex") {
    p = mutex_profile();
    write_text = [&] {
      write_cycles_text(out, p,
                        "--- mutex:\ncycles/second=1000000000\nsampling period=" +
                            std::to_string(detail::mutex_profile_rate()) + "\n");
    };
  } else if (name == "heap") {
    p = heap_profile();
    write_text = [&] { write_heap_text(out, p); };
  } else if (name == "threadcreate") {
    p = threadcreate_profile();
    write_text = [&] { write_count_text(out, p, "threadcreate"); };
  } else {
    return false;
  }
  if (debug >= 1) write_text();
  else write_proto(out, p);
  return true;
}

bool write_profile(std::string_view name, std::ostream& out, int debug) {
  return write_profile(out, name, debug);
}

}  // namespace goro::diag
