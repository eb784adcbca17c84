// diag/src/symbolize.cpp — return addresses to functions, files and lines.
//
// The symbolizer is GCC's libbacktrace (backtrace.h, libbacktrace.a from the compiler's
// own package, libgcc-12-dev on Debian 12). It reads the DWARF line tables and function
// DIEs of every loaded module, expands inlined calls (a lambda task body inlined into
// goro's task entry is still its own frame, with its file and line), and falls back to
// the ELF symbol table (.symtab: static functions and lambdas are named without
// -rdynamic). elfutils' libdw (dwfl_*) was measured against it on a 3 MB -O2 -g binary
// symbolizing 1,000 addresses spread over its text (thread CPU time, medians of 3; the
// machine was loaded: wall times were several times these):
//                    first call   1,000 more (cold)   again (warm)   RSS      stack
//   libbacktrace     88 ms        17 ms                2.1 ms         +28 MB   44 KB
//   libdw, inlines   0.3 ms       520 ms               520 ms         +6 MB    167 KB
//   libdw, none      0.3 ms       27 ms                22 ms          +4.5 MB
// libdw reads modules lazily, but its lookups are slow (dwfl_module_addrname scans the
// symbol table; inline expansion needs dwarf_getscopes, a walk of the whole unit) and a
// Dwfl is not thread-safe. libbacktrace pays once — it reads every loaded module's debug
// info on first use, glibc's too when libc6-dbg is installed, and keeps it for the life
// of the process (it cannot be freed) — and after that a frame costs 2-3 µs from any
// thread. Dumps are rare and repeat addresses, so the one-time cost is the right trade.
// Without libbacktrace at build time (another compiler's runtime), frames come from
// dladdr alone: names from the dynamic symbol table, else module + offset.
//
// Thread safety and lock discipline: no lock of goro's is taken or needed. The state is
// created once (a function-local static) with threaded = 1, which makes every
// libbacktrace call safe from any number of threads; its first lookup, which reads the
// debug info, runs under std::call_once so that two first dumps do not both read it.
// Callers: diag's snapshots (diag::tasks, the dumps, profiles, the debug server, the
// runtime's leak and deadlock reports through diag's hooks), never a signal handler (it
// allocates). Called from a task, the work moves to a short-lived thread: libbacktrace
// and __cxa_demangle need tens of KiB of stack; the task's worker waits for it (a dump
// is synchronous anyway).
#include "symbolize.hpp"

#include <cxxabi.h>
#include <dlfcn.h>
#include <errno.h>  // program_invocation_name
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <unordered_map>

#include "goro/runtime.hpp"

#if defined(GORO_HAVE_LIBBACKTRACE)
#include <backtrace.h>
#endif

namespace goro::diag::internal {

namespace {

std::string demangle(const char* name) {
  int status = -1;
  std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(name, nullptr, nullptr, &status),
                                             std::free);
  return status == 0 && out ? std::string(out.get()) : std::string(name);
}

std::string hex(std::uintptr_t v) {
  char buf[2 + 2 * sizeof v + 1];
  std::snprintf(buf, sizeof buf, "0x%zx", static_cast<std::size_t>(v));
  return buf;
}

// The path of a loaded module; dladdr names the executable as it was invoked (argv[0]).
std::string module_path(const char* dli_fname) {
  static const std::string self = [] {
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }();
  if (!self.empty() && (dli_fname[0] == '\0' || std::strcmp(dli_fname, program_invocation_name) == 0))
    return self;
  return dli_fname;
}

// What dladdr knows: the module, and a name when the dynamic symbol table has one.
SourceFrame from_dladdr(std::uintptr_t pc) {
  SourceFrame f;
  f.address = pc;
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(pc), &info) == 0 || info.dli_fname == nullptr) return f;
  f.module = module_path(info.dli_fname);
  f.module_offset = pc - reinterpret_cast<std::uintptr_t>(info.dli_fbase);
  if (info.dli_sname != nullptr && info.dli_saddr != nullptr) {
    f.function = demangle(info.dli_sname);
    f.function_offset = pc - reinterpret_cast<std::uintptr_t>(info.dli_saddr);
    f.has_function_offset = true;
  }
  return f;
}

#if defined(GORO_HAVE_LIBBACKTRACE)

// Missing debug info is reported here (errnum -1) and is not an error: the frame falls
// back to the symbol table. Other errors (an unreadable module) fall back the same way.
void ignore_error(void*, const char*, int) {}

backtrace_state* state() {
  static backtrace_state* const s = backtrace_create_state(nullptr, /*threaded=*/1, ignore_error, nullptr);
  static std::once_flag loaded;
  std::call_once(loaded, [] {
    if (s == nullptr) return;
    auto none = [](void*, std::uintptr_t, const char*, int, const char*) { return 0; };
    backtrace_pcinfo(s, reinterpret_cast<std::uintptr_t>(&state), none, ignore_error, nullptr);
  });
  return s;
}

std::vector<SourceFrame> symbolize_one(std::uintptr_t pc) {
  const SourceFrame base = from_dladdr(pc);
  std::vector<SourceFrame> frames;
  backtrace_state* s = state();
  if (s == nullptr) return {base};
  // A return address is the instruction after the call: its line may be the next
  // statement's, so look up the call itself.
  const std::uintptr_t call = pc - 1;
  struct Found {
    const SourceFrame& base;
    std::vector<SourceFrame>& frames;
  } found{base, frames};
  backtrace_pcinfo(
      s, call,
      [](void* data, std::uintptr_t, const char* file, int line, const char* function) {
        auto& fd = *static_cast<Found*>(data);
        if (file == nullptr || function == nullptr || line <= 0) return 0;  // no debug info here
        SourceFrame f = fd.base;
        f.function = demangle(function);
        f.file = file;
        f.line = static_cast<unsigned>(line);
        f.has_function_offset = false;
        fd.frames.push_back(std::move(f));
        return 0;
      },
      ignore_error, &found);
  // The function the address is in, by its symbol: the debug info may give it only its
  // unqualified name ("_FUN", "operator()"). Inlined frames keep the names they have.
  SourceFrame f = base;
  backtrace_syminfo(
      s, call,
      [](void* data, std::uintptr_t pc, const char* symbol, std::uintptr_t start, std::uintptr_t) {
        if (symbol == nullptr) return;
        auto& f = *static_cast<SourceFrame*>(data);
        f.function = demangle(symbol);
        f.function_offset = pc + 1 - start;
        f.has_function_offset = true;
      },
      ignore_error, &f);
  if (frames.empty()) return {f};  // no line information: the symbol table's name
  if (f.has_function_offset) frames.back().function = std::move(f.function);
  return frames;
}

#else

std::vector<SourceFrame> symbolize_one(std::uintptr_t pc) { return {from_dladdr(pc)}; }

#endif

// One frame of a captured stack, as TaskInfo::stack shows it, and what the trimming
// below needs to know of it.
struct Frame {
  std::string text;     // frame_text(): as in TaskInfo::stack
  bool transparent = false;  // unnamed, or the standard library's (inlined into goro's code)
  bool goro = false;    // goro's functions (park, channel, select, sync, ...), backtrace()
  bool entry = false;   // goro::detail:: (the task-entry machinery below user code)
  bool bottom = false;  // Boost.Context's fiber entry (make_fcontext): the stack's end
};

// "goro::..." at the start, or after a template function's return type.
bool in_namespace(std::string_view name, std::string_view ns) {
  std::string_view head = name.substr(0, name.find('('));
  if (head.substr(0, ns.size()) == ns) return true;
  std::string spaced = " " + std::string(ns);
  return head.find(spaced) != std::string_view::npos;
}

// goro's code by its file: a header in a goro/, goro/detail/ or goro/internal/ directory
// (in the checkout or installed), or a source of goro's modules (this file is
// <checkout>/diag/src/symbolize.cpp). Calls inlined from goro's headers carry no
// namespace in the debug info ("operator()" of goro::detail's closure trampoline).
bool in_goro_file(std::string_view file) {
  const std::size_t slash = file.rfind('/');
  if (slash == std::string_view::npos) return false;
  const std::string_view dir = file.substr(0, slash);
  if (dir.ends_with("/goro") || dir.ends_with("/goro/detail") || dir.ends_with("/goro/internal")) return true;
  constexpr std::string_view self = __FILE__, tail = "diag/src/symbolize.cpp";
  if (!self.starts_with('/') || !self.ends_with(tail)) return false;
  const std::string_view root = self.substr(0, self.size() - tail.size());
  if (!file.starts_with(root)) return false;
  const std::string_view rest = file.substr(root.size());
  return rest.starts_with("runtime/") || rest.starts_with("channel/") || rest.starts_with("diag/") ||
         rest.starts_with("net/");
}

Frame classify(const SourceFrame& source) {
  Frame f;
  f.text = frame_text(source);
  const std::string& name = source.function;
  f.transparent = name.empty() || name.starts_with("std::") || name.starts_with("__gnu_cxx::") ||
                  source.file.find("/include/c++/") != std::string::npos;
  const bool goro_file = !source.file.empty() && in_goro_file(source.file);
  const bool qualified = name.find("::") != std::string::npos;
  // backtrace() itself shows up when a sanitizer intercepts it.
  f.goro = in_namespace(name, "goro::") || goro_file || name == "backtrace" ||
           name.find("interceptor_backtrace") != std::string::npos;  // also ".part.0" clones
  // Below the user's frames, goro's unqualified inlined frames are the task entry's.
  f.entry = in_namespace(name, "goro::detail::") || (goro_file && !qualified);
  f.bottom = name == "make_fcontext" || in_namespace(name, "boost::context::");
  return f;
}

void symbolize_into(const std::vector<void*>& pcs, std::vector<std::vector<SourceFrame>>& out) {
  out.reserve(pcs.size());
  for (void* pc : pcs) out.push_back(symbolize_one(reinterpret_cast<std::uintptr_t>(pc)));
}

}  // namespace

std::vector<std::vector<SourceFrame>> symbolize_all(const std::vector<void*>& pcs) {
  std::vector<std::vector<SourceFrame>> out;
  if (pcs.empty()) return out;
  if (current_task() == 0) {
    symbolize_into(pcs, out);
    return out;
  }
  try {
    std::thread([&] { symbolize_into(pcs, out); }).join();
  } catch (const std::system_error&) {
    // No thread to be had: what dladdr says needs little stack.
    out.clear();
    for (void* pc : pcs) out.push_back({from_dladdr(reinterpret_cast<std::uintptr_t>(pc))});
  }
  return out;
}

std::string frame_text(const SourceFrame& f) {
  std::string text = f.function.empty() ? std::string("??") : f.function;
  if (!f.file.empty())
    text += " at " + f.file + ":" + std::to_string(f.line);
  else if (f.has_function_offset)
    text += "+" + hex(f.function_offset);
  text += " [";
  text += f.module.empty() ? hex(f.address) : f.module + "+" + hex(f.module_offset);
  text += "]";
  return text;
}

SourceFrame parse_frame_text(std::string_view text) {
  SourceFrame f;
  std::string_view head = text;
  if (const std::size_t bracket = text.rfind(" ["); bracket != std::string_view::npos && text.ends_with("]")) {
    std::string_view where = text.substr(bracket + 2, text.size() - bracket - 3);
    head = text.substr(0, bracket);
    const std::size_t plus = where.rfind("+0x");
    std::string_view number = plus == std::string_view::npos ? where.substr(2) : where.substr(plus + 3);
    std::uintptr_t value = 0;
    std::from_chars(number.data(), number.data() + number.size(), value, 16);
    if (plus == std::string_view::npos) {
      f.address = value;
    } else {
      f.module = std::string(where.substr(0, plus));
      f.module_offset = value;
    }
  }
  // "name at file:line": the last " at " followed by a path, a colon and digits.
  if (const std::size_t at = head.rfind(" at "); at != std::string_view::npos) {
    std::string_view location = head.substr(at + 4);
    const std::size_t colon = location.rfind(':');
    unsigned line = 0;
    if (colon != std::string_view::npos && colon + 1 < location.size() &&
        std::from_chars(location.data() + colon + 1, location.data() + location.size(), line).ptr ==
            location.data() + location.size()) {
      f.file = std::string(location.substr(0, colon));
      f.line = line;
      head = head.substr(0, at);
    }
  }
  if (f.file.empty()) {
    if (const std::size_t plus = head.rfind("+0x"); plus != std::string_view::npos) {
      std::uintptr_t value = 0;
      auto [end, ec] = std::from_chars(head.data() + plus + 3, head.data() + head.size(), value, 16);
      if (ec == std::errc() && end == head.data() + head.size()) {
        f.function_offset = value;
        f.has_function_offset = true;
        head = head.substr(0, plus);
      }
    }
  }
  if (head != "??") f.function = std::string(head);
  return f;
}

// Turns each task's raw stack into TaskInfo::stack. Each return address gives one frame,
// or several where calls were inlined (innermost first). goro's frames above the user's
// are dropped: the leading run of goro's frames (capture, park, channel internals, and
// goro's calls inlined into the user's function), with unnamed and standard-library
// frames among them, up to its last goro frame. So is everything below: from the first
// goro::detail frame (the task entry, into which the task's lambda is usually inlined:
// the lambda stays) or the fiber's make_fcontext on. Frames repeat across tasks, so each
// address is symbolized once.
void symbolize_stacks(std::vector<TaskInfo>& out, const RawStacks& stacks) {
  std::unordered_map<void*, std::size_t> index;  // address -> its frames in `symbolized`
  std::vector<void*> distinct;
  for (void* pc : stacks.pcs)
    if (index.try_emplace(pc, distinct.size()).second) distinct.push_back(pc);
  std::vector<std::vector<Frame>> symbolized;
  for (const auto& frames : symbolize_all(distinct)) {
    auto& mine = symbolized.emplace_back();
    for (const auto& f : frames) mine.push_back(classify(f));
  }
  std::vector<const Frame*> frames;
  for (const auto& r : stacks.ranges) {
    frames.clear();
    for (std::uint32_t i = 0; i < r.depth; ++i)
      for (const Frame& f : symbolized[index.at(stacks.pcs[r.begin + i])]) frames.push_back(&f);
    std::size_t first = 0;
    for (std::size_t i = 0; i < frames.size() && (frames[i]->goro || frames[i]->transparent); ++i)
      if (frames[i]->goro) first = i + 1;
    if (first == frames.size()) first = 0;  // no user frame found: keep everything
    std::size_t last = frames.size();
    for (std::size_t i = first + 1; i < frames.size(); ++i)
      if (frames[i]->bottom || (first > 0 && frames[i]->entry)) {
        last = i;
        break;
      }
    auto& stack = out[r.task_index].stack;
    for (std::size_t i = first; i < last; ++i) stack.push_back(frames[i]->text);
  }
}

}  // namespace goro::diag::internal
