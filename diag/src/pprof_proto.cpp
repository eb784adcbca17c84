// diag/src/pprof_proto.cpp — the gzipped profile.proto of a pprof::Profile (pprof.hpp).
//
// The profile.proto messages are encoded by hand (ProtoWriter): the profile needs five
// small message types, all fields varints, strings or packed varints, and writing them
// directly keeps libprotobuf and protoc out of goro's dependencies (README, Dependencies).
// Field numbers follow the public profile.proto of github.com/google/pprof, listed above
// encode(). gzip via zlib, as Go serves profiles. No state: pure functions of the Profile.
#include <zlib.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "pprof.hpp"

namespace goro::diag::pprof {

namespace {

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

}  // namespace

void write_proto(std::ostream& out, const Profile& p) {
  const std::string gz = gzip(encode(p));
  out.write(gz.data(), static_cast<std::streamsize>(gz.size()));
}

}  // namespace goro::diag::pprof
