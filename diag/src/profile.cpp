// diag/src/profile.cpp — pprof profiles of goro's tasks (goro/profile.hpp).
//
// The profile.proto messages are encoded by hand (ProtoWriter): the profile needs five
// small message types, all fields varints, strings or packed varints, and writing them
// directly keeps libprotobuf and protoc out of goro's dependencies (README, Dependencies).
// Field numbers follow the public profile.proto of github.com/google/pprof, listed by
// the writers below. gzip via zlib, as Go serves profiles.
//
// Block profile recording: the runtime times a park only while the rate is non-zero
// and calls record_block_event (installed as its sink, runtime/src/profiling_hooks.hpp)
// on the resumed task's stack. Lock discipline: g_block_lock guards g_block_events; it
// is held only for one table update or one copy of the table, never while parking.
//
// Mutex profile: goro::Mutex and goro::RWMutex report sampled contentions through
// record_mutex_event (installed as the sink of runtime/src/mutex_profile.hpp);
// g_mutex_lock guards g_mutex_events the same way. Threadcreate profile: a copy of the
// runtime's list of live threads (runtime/src/thread_registry.hpp).
#include "goro/profile.hpp"

#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "goro/internal/inspect.hpp"
#include "goro/diag.hpp"
#include "goro/memory.hpp"
#include "symbolize.hpp"

namespace goro::diag {

namespace {

// ------------------------------------------------------------------ protobuf writer

// Wire types of the protobuf encoding.
constexpr unsigned kVarint = 0;
constexpr unsigned kLengthDelimited = 2;

class ProtoWriter {
 public:
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      out_ += static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    out_ += static_cast<char>(v);
  }
  void tag(unsigned field, unsigned wire_type) { varint((std::uint64_t{field} << 3) | wire_type); }
  // proto3 scalars: zero is the default and is left out.
  void int64(unsigned field, std::int64_t v) {
    if (v == 0) return;
    tag(field, kVarint);
    varint(static_cast<std::uint64_t>(v));
  }
  void bytes(unsigned field, std::string_view s) {
    tag(field, kLengthDelimited);
    varint(s.size());
    out_.append(s);
  }
  void packed(unsigned field, const std::vector<std::uint64_t>& values) {
    if (values.empty()) return;
    ProtoWriter body;
    for (auto v : values) body.varint(v);
    bytes(field, body.out_);
  }
  void message(unsigned field, const ProtoWriter& m) { bytes(field, m.out_); }
  const std::string& data() const { return out_; }

 private:
  std::string out_;
};

std::string gzip(const std::string& raw) {
  z_stream zs{};
  // 15 + 16: a gzip header and trailer around the deflate stream, as Go's gzip.Writer.
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("goro: zlib deflateInit2 failed while writing a profile");
  std::string out(deflateBound(&zs, raw.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("goro: zlib deflate failed while writing a profile");
  return out;
}

// ------------------------------------------------------------------ profile model

struct Frame {
  std::string function;
  std::string file;
  std::int64_t line = 0;
  bool operator<(const Frame& o) const {
    return std::tie(function, file, line) < std::tie(o.function, o.file, o.line);
  }
};

using Labels = std::map<std::string, std::string>;  // sorted, as Go prints them

struct Sample {
  std::vector<Frame> stack;  // leaf first
  Labels labels;
  std::vector<std::int64_t> values;
};

struct ValueType {
  std::string type, unit;
};

struct Profile {
  std::vector<ValueType> sample_types;
  ValueType period_type;
  std::int64_t period = 1;
  std::vector<Sample> samples;
};

// Locations, functions and strings numbered as they are first met; ids start at 1.
class ProfileTables {
 public:
  std::uint64_t string_index(const std::string& s) {
    auto [it, fresh] = strings_.try_emplace(s, string_order_.size());
    if (fresh) string_order_.push_back(s);
    return it->second;
  }
  std::uint64_t location_id(const Frame& f) {
    auto [it, fresh] = locations_.try_emplace(f, location_order_.size() + 1);
    if (fresh) location_order_.push_back(f);
    return it->second;
  }
  std::uint64_t function_id(const std::string& name, const std::string& file) {
    auto key = std::make_pair(name, file);
    auto [it, fresh] = functions_.try_emplace(key, function_order_.size() + 1);
    if (fresh) function_order_.push_back(key);
    return it->second;
  }
  ProfileTables() { string_index(""); }  // string_table[0] must be ""

  std::map<std::string, std::uint64_t> strings_;
  std::vector<std::string> string_order_;
  std::map<Frame, std::uint64_t> locations_;
  std::vector<Frame> location_order_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> functions_;
  std::vector<std::pair<std::string, std::string>> function_order_;
};

// A location's address in the text formats and the proto: its id, spaced like code.
std::uint64_t fake_pc(std::uint64_t location_id) { return location_id << 4; }

// profile.proto field numbers:
//   Profile: 1 sample_type, 2 sample, 4 location, 5 function, 6 string_table,
//            9 time_nanos, 11 period_type, 12 period
//   ValueType: 1 type, 2 unit      Sample: 1 location_id (packed), 2 value (packed), 3 label
//   Label: 1 key, 2 str            Location: 1 id, 3 address, 4 line
//   Line: 1 function_id, 2 line    Function: 1 id, 2 name, 3 system_name, 4 filename
std::string encode(const Profile& p) {
  ProfileTables tables;
  ProtoWriter out;
  auto value_type = [&](unsigned field, const ValueType& vt) {
    ProtoWriter m;
    m.int64(1, static_cast<std::int64_t>(tables.string_index(vt.type)));
    m.int64(2, static_cast<std::int64_t>(tables.string_index(vt.unit)));
    out.message(field, m);
  };
  for (const auto& st : p.sample_types) value_type(1, st);
  for (const auto& s : p.samples) {
    ProtoWriter m;
    std::vector<std::uint64_t> locs;
    for (const auto& f : s.stack) locs.push_back(tables.location_id(f));
    m.packed(1, locs);
    std::vector<std::uint64_t> values;
    for (auto v : s.values) values.push_back(static_cast<std::uint64_t>(v));
    m.packed(2, values);
    for (const auto& [k, v] : s.labels) {
      ProtoWriter label;
      label.int64(1, static_cast<std::int64_t>(tables.string_index(k)));
      label.int64(2, static_cast<std::int64_t>(tables.string_index(v)));
      m.message(3, label);
    }
    out.message(2, m);
  }
  for (std::size_t i = 0; i < tables.location_order_.size(); ++i) {
    const Frame& f = tables.location_order_[i];
    ProtoWriter loc, line;
    line.int64(1, static_cast<std::int64_t>(tables.function_id(f.function, f.file)));
    line.int64(2, f.line);
    loc.int64(1, static_cast<std::int64_t>(i + 1));
    loc.int64(3, static_cast<std::int64_t>(fake_pc(i + 1)));
    loc.message(4, line);
    out.message(4, loc);
  }
  for (std::size_t i = 0; i < tables.function_order_.size(); ++i) {
    const auto& [name, file] = tables.function_order_[i];
    ProtoWriter fn;
    fn.int64(1, static_cast<std::int64_t>(i + 1));
    fn.int64(2, static_cast<std::int64_t>(tables.string_index(name)));
    fn.int64(3, static_cast<std::int64_t>(tables.string_index(name)));
    fn.int64(4, static_cast<std::int64_t>(tables.string_index(file)));
    out.message(5, fn);
  }
  ProtoWriter period_type;
  period_type.int64(1, static_cast<std::int64_t>(tables.string_index(p.period_type.type)));
  period_type.int64(2, static_cast<std::int64_t>(tables.string_index(p.period_type.unit)));
  // The string table once every index is assigned.
  for (const auto& s : tables.string_order_) out.bytes(6, s);
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  out.int64(9, std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
  out.message(11, period_type);
  out.int64(12, p.period);
  return out.data();
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

// Go's goroutine profile: one sample per distinct (stack, labels), value = how many.
Profile count_profile(const std::vector<TaskInfo>& list, const std::string& name) {
  Profile p;
  p.sample_types = {{name, "count"}};
  p.period_type = {name, "count"};
  std::map<std::pair<std::vector<Frame>, Labels>, std::int64_t> counts;
  for (const auto& t : list) ++counts[{task_stack(t), task_labels(t)}];
  for (auto& [key, n] : counts) p.samples.push_back({key.first, key.second, {n}});
  // Biggest first, as Go sorts its keys by count.
  std::stable_sort(p.samples.begin(), p.samples.end(),
                   [](const Sample& a, const Sample& b) { return a.values[0] > b.values[0]; });
  return p;
}

// ------------------------------------------------------------------ block profile

struct BlockKey {
  WaitReason reason;
  std::source_location wait_site, spawn_site;
  // source_location's strings have static storage: their addresses identify them.
  auto tie() const {
    return std::make_tuple(reason, wait_site.file_name(), wait_site.function_name(),
                           wait_site.line(), spawn_site.file_name(),
                           spawn_site.function_name(), spawn_site.line());
  }
  bool operator<(const BlockKey& o) const { return tie() < o.tie(); }
};

struct BlockTotals {
  double contentions = 0;  // fractional: a sampled short wait counts rate / d
  std::int64_t delay_ns = 0;
};

std::mutex g_block_lock;
std::map<BlockKey, BlockTotals>* g_block_events = new std::map<BlockKey, BlockTotals>();  // guarded by g_block_lock

// Go's blocksampled + saveblockevent (runtime/mprof.go): waits of at least `rate` are
// always kept; a shorter one with probability d / rate, then weighted rate / d so the
// expected totals are the true ones.
void record_block_event(const detail::WaitSite& site, const detail::TaskRecord& task,
                        std::int64_t blocked_ns, std::int64_t rate_ns) {
  if (site.reason == WaitReason::sleep || site.reason == WaitReason::none) return;
  const std::int64_t d = std::max<std::int64_t>(blocked_ns, 1);
  double count = 1;
  std::int64_t delay = d;
  if (d < rate_ns) {
    thread_local std::minstd_rand rng{std::random_device{}()};
    if (static_cast<std::int64_t>(std::uniform_int_distribution<std::int64_t>(0, rate_ns - 1)(rng)) > d)
      return;
    count = static_cast<double>(rate_ns) / static_cast<double>(d);
    delay = rate_ns;
  }
  BlockKey key{site.reason, site.where, task.spawn_site};
  std::lock_guard guard(g_block_lock);
  BlockTotals& totals = (*g_block_events)[key];
  totals.contentions += count;
  totals.delay_ns += delay;
}

Profile block_profile() {
  std::map<BlockKey, BlockTotals> events;
  {
    std::lock_guard guard(g_block_lock);
    events = *g_block_events;
  }
  Profile p;
  p.sample_types = {{"contentions", "count"}, {"delay", "nanoseconds"}};
  p.period_type = {"contentions", "count"};
  for (const auto& [key, totals] : events) {
    Sample s;
    s.stack = {site_frame(key.wait_site), created_by_frame(key.spawn_site)};
    s.labels = {{"reason", std::string(to_string(key.reason))}};
    s.values = {static_cast<std::int64_t>(totals.contentions + 0.5), totals.delay_ns};
    p.samples.push_back(std::move(s));
  }
  // Longest total delay first, as Go sorts by cycles.
  std::stable_sort(p.samples.begin(), p.samples.end(),
                   [](const Sample& a, const Sample& b) { return a.values[1] > b.values[1]; });
  return p;
}

// ------------------------------------------------------------------ mutex profile

struct MutexKey {
  std::string_view operation;  // a static string: "goro::Mutex::unlock", ...
  std::source_location site, spawn_site;
  bool in_task;
  auto tie() const {
    return std::make_tuple(operation, site.file_name(), site.function_name(), site.line(),
                           in_task, in_task ? spawn_site.file_name() : "",
                           in_task ? spawn_site.function_name() : "", in_task ? spawn_site.line() : 0u);
  }
  bool operator<(const MutexKey& o) const { return tie() < o.tie(); }
};

struct MutexTotals {
  std::int64_t contentions = 0;
  std::int64_t delay_ns = 0;
};

std::mutex g_mutex_lock;
std::map<MutexKey, MutexTotals>* g_mutex_events = new std::map<MutexKey, MutexTotals>();  // guarded by g_mutex_lock

// Go's saveblockevent for the mutex profile: a sampled event stands for `rate` of them.
void record_mutex_event(const detail::MutexContention& event) {
  const MutexKey key{event.operation, event.site, event.spawn_site, event.in_task};
  std::lock_guard guard(g_mutex_lock);
  MutexTotals& totals = (*g_mutex_events)[key];
  totals.contentions += event.rate;
  totals.delay_ns += std::int64_t{event.rate} * event.delay_ns;
}

Profile mutex_profile() {
  std::map<MutexKey, MutexTotals> events;
  {
    std::lock_guard guard(g_mutex_lock);
    events = *g_mutex_events;
  }
  Profile p;
  p.sample_types = {{"contentions", "count"}, {"delay", "nanoseconds"}};
  p.period_type = {"contentions", "count"};
  for (const auto& [key, totals] : events) {
    Sample s;
    s.stack = {site_frame(key.site)};
    if (key.in_task) s.stack.push_back(created_by_frame(key.spawn_site));
    s.labels = {{"operation", std::string(key.operation)}};
    s.values = {totals.contentions, totals.delay_ns};
    p.samples.push_back(std::move(s));
  }
  std::stable_sort(p.samples.begin(), p.samples.end(),
                   [](const Sample& a, const Sample& b) { return a.values[1] > b.values[1]; });
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
  std::stable_sort(p.samples.begin(), p.samples.end(),
                   [](const Sample& a, const Sample& b) { return a.values[0] > b.values[0]; });
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

// ------------------------------------------------------------------ Go's text formats

// The location ids the proto would give, for the "@ 0x10 0x20" lines.
std::string stack_text(ProfileTables& tables, const std::vector<Frame>& stack, std::string* frames) {
  std::string pcs;
  char buf[64];
  for (const auto& f : stack) {
    const std::uint64_t pc = fake_pc(tables.location_id(f));
    std::snprintf(buf, sizeof buf, " %#llx", static_cast<unsigned long long>(pc));
    pcs += buf;
    // printStackRecord: "#\t<pc>\t<function>+<offset>\t<file>:<line>"
    std::snprintf(buf, sizeof buf, "#\t%#llx\t", static_cast<unsigned long long>(pc));
    *frames += buf;
    *frames += f.function + "+0x0\t" + f.file + ":" + std::to_string(f.line) + "\n";
  }
  return pcs;
}

// "{"leaked":"false", "reason":"chan send"}", as Go's labelMap.String().
std::string labels_text(const Labels& labels) {
  std::string s = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) s += ", ";
    first = false;
    s += "\"" + k + "\":\"" + v + "\"";
  }
  return s + "}";
}

// runtime/pprof's printCountProfile with debug=1.
void write_count_text(std::ostream& out, const Profile& p, const std::string& name) {
  ProfileTables tables;
  std::int64_t total = 0;
  for (const auto& s : p.samples) total += s.values[0];
  out << name << " profile: total " << total << "\n";
  for (const auto& s : p.samples) {
    std::string frames;
    const std::string pcs = stack_text(tables, s.stack, &frames);
    out << s.values[0] << " @" << pcs << "\n";
    if (!s.labels.empty()) out << "# labels: " << labels_text(s.labels) << "\n";
    out << frames << "\n";
  }
}

// runtime/pprof's writeProfileInternal with debug=1 ("cycles" are nanoseconds here):
// `header` is "--- contention:\ncycles/second=...\n" (block) or, for the mutex profile,
// "--- mutex:\ncycles/second=...\nsampling period=<rate>\n".
void write_cycles_text(std::ostream& out, const Profile& p, const std::string& header) {
  ProfileTables tables;
  out << header;
  for (const auto& s : p.samples) {
    std::string frames;
    const std::string pcs = stack_text(tables, s.stack, &frames);
    out << s.values[1] << " " << s.values[0] << " @" << pcs << "\n" << frames << "\n";
  }
}

// runtime/pprof's writeHeapInternal with debug=1: a header with the totals, then per
// sample "inuse_objects: inuse_bytes [alloc_objects: alloc_bytes] @ pcs" and its frames.
// (Go's header ends "@ heap/<2*MemProfileRate>"; goro measures, so its rate is 1.)
void write_heap_text(std::ostream& out, const Profile& p) {
  ProfileTables tables;
  std::int64_t totals[4] = {};
  for (const auto& s : p.samples)
    for (int i = 0; i < 4; ++i) totals[i] += s.values[i];
  out << "heap profile: " << totals[2] << ": " << totals[3] << " [" << totals[0] << ": "
      << totals[1] << "] @ heap/1\n";
  for (const auto& s : p.samples) {
    std::string frames;
    const std::string pcs = stack_text(tables, s.stack, &frames);
    out << s.values[2] << ": " << s.values[3] << " [" << s.values[0] << ": " << s.values[1]
        << "] @" << pcs << "\n";
    if (!s.labels.empty()) out << "# labels: " << labels_text(s.labels) << "\n";
    out << frames << "\n";
  }
}

void write_proto(std::ostream& out, const Profile& p) {
  const std::string gz = gzip(encode(p));
  out.write(gz.data(), static_cast<std::streamsize>(gz.size()));
}

}  // namespace

void set_block_profile_rate(std::int64_t rate_ns) {
  if (rate_ns < 0) rate_ns = 0;
  static std::mutex setting;  // keeps the rate and its park_hooks lane in step
  const std::lock_guard guard(setting);
  // The sink first: a park that sees the rate must find it (profiling_hooks.hpp).
  detail::g_block_event_sink.store(&record_block_event, std::memory_order_release);
  detail::g_block_profile_rate_ns.store(rate_ns, std::memory_order_release);
  if (rate_ns != 0)
    detail::g_park_hooks.fetch_or(detail::kParkHookBlockProfile);
  else
    detail::g_park_hooks.fetch_and(~detail::kParkHookBlockProfile);
}

std::int64_t block_profile_rate() {
  return detail::g_block_profile_rate_ns.load(std::memory_order_acquire);
}

void reset_block_profile() {
  std::lock_guard guard(g_block_lock);
  g_block_events->clear();
}

bool write_profile(std::ostream& out, std::string_view name, int debug) {
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
  if (name == "block") {
    const Profile p = block_profile();
    if (debug >= 1) write_cycles_text(out, p, "--- contention:\ncycles/second=1000000000\n");
    else write_proto(out, p);
    return true;
  }
  if (name == "mutex") {
    const Profile p = mutex_profile();
    if (debug >= 1)
      write_cycles_text(out, p,
                        "--- mutex:\ncycles/second=1000000000\nsampling period=" +
                            std::to_string(detail::mutex_profile_rate()) + "\n");
    else write_proto(out, p);
    return true;
  }
  if (name == "heap") {
    const Profile p = heap_profile();
    if (debug >= 1) write_heap_text(out, p);
    else write_proto(out, p);
    return true;
  }
  if (name == "threadcreate") {
    const Profile p = threadcreate_profile();
    if (debug >= 1) write_count_text(out, p, "threadcreate");
    else write_proto(out, p);
    return true;
  }
  return false;
}

bool write_profile(std::string_view name, std::ostream& out, int debug) {
  return write_profile(out, name, debug);
}

int set_mutex_profile_fraction(int rate) {
  return detail::set_mutex_profile_rate(rate, &record_mutex_event);
}

void reset_mutex_profile() {
  std::lock_guard guard(g_mutex_lock);
  g_mutex_events->clear();
}

}  // namespace goro::diag
