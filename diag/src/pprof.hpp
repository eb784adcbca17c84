// diag/src/pprof.hpp — the pprof profile model shared by goro's profiles
// (goro/profile.hpp): a Profile of Samples over Frames, the two ways to write one (the
// gzipped profile.proto, pprof_proto.cpp; Go's debug=1 text formats, pprof_text.cpp) and
// the builder of each profile.
//
//   pprof::Profile p = pprof::block_profile();
//   if (debug >= 1) pprof::write_cycles_text(out, p, "--- contention:\ncycles/second=1000000000\n");
//   else pprof::write_proto(out, p);
//
// Builders: count_profile, threadcreate_profile and heap_profile (profile.cpp) build from
// snapshots; block_profile and mutex_profile (contention_profiles.cpp) copy the tables
// their recorders fill, under those tables' locks. A Profile is a plain value: once built
// it is the caller's alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <ostream>
#include <source_location>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "goro/diag.hpp"

namespace goro::diag::pprof {

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

// Biggest value at `index` first (stable), as Go sorts its records.
void sort_by_value(Profile& p, std::size_t index);

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
inline std::uint64_t fake_pc(std::uint64_t location_id) { return location_id << 4; }

// profile.proto field numbers:
//   Profile: 1 sample_type, 2 sample, 4 location, 5 function, 6 string_table,

//            9 time_nanos, 11 period_type, 12 period
//   ValueType: 1 type, 2 unit      Sample: 1 location_id (packed), 2 value (packed), 3 label

// Frames: a wait or spawn site as pprof shows a function (pprof_function_name), and the
// "created by" frame Go ends a goroutine's traceback with.
std::string pprof_function_name(std::string_view fn);
Frame site_frame(const std::source_location& s);
Frame created_by_frame(const std::source_location& s);

// The profiles. `name` of count_profile is "goroutine" or "goroutineleak".
Profile count_profile(const std::vector<TaskInfo>& list, const std::string& name);
Profile block_profile();
Profile mutex_profile();
Profile threadcreate_profile();
Profile heap_profile();

// Writers: the gzipped profile.proto (debug=0), and runtime/pprof's debug=1 texts.
void write_proto(std::ostream& out, const Profile& p);
void write_count_text(std::ostream& out, const Profile& p, const std::string& name);
void write_cycles_text(std::ostream& out, const Profile& p, const std::string& header);
void write_heap_text(std::ostream& out, const Profile& p);

}  // namespace goro::diag::pprof
