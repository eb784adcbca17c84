// diag/src/pprof_text.cpp — runtime/pprof's debug=1 text formats of a pprof::Profile
// (pprof.hpp): the count profiles (goroutine, threadcreate), the cycles profiles (block,
// mutex) and the heap profile. Each "@ 0x10 0x20" address is the location id the proto
// would give (fake_pc). No state: pure functions of the Profile.
#include <cstdio>
#include <string>
#include <vector>

#include "pprof.hpp"

namespace goro::diag::pprof {

namespace {

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


}  // namespace

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

}  // namespace goro::diag::pprof
