// diag/src/symbolize.hpp — internal to diag/: names, files and lines for the return
// addresses captured in parked tasks' stacks (Config::capture_stacks), and the one text
// form of a frame that TaskInfo::stack, the dumps and the pprof profiles share.
//
//   std::vector<void*> pcs = ...;                    // distinct return addresses
//   auto frames = symbolize_all(pcs);                // frames[i]: pcs[i], innermost first
//   std::string text = frame_text(frames[0][0]);
//     // "worker(goro::Channel<int>) at /src/app.cpp:42 [/bin/app+0x5a21]"
//   SourceFrame back = parse_frame_text(text);       // the same fields again
//   symbolize_stacks(infos, raw);                    // a snapshot's TaskInfo::stack
//
// The text of a frame, by what the binary carries:
//   debug info (-g, -g1)  "name at file:line [module+0xoffset]"; one address can give
//                         several frames (the calls the compiler inlined there, inner first)
//   a symbol table only   "name+0xoffset [module+0xoffset]" (ELF .symtab, so static
//                         functions and lambdas are named without -rdynamic)
//   neither (stripped)    "name+0xoffset [...]" from the dynamic symbol table, else
//                         "?? [module+0xoffset]" (for addr2line -f -C -e module offset)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "goro/diag.hpp"

namespace goro::diag::internal {

struct SourceFrame {
  std::string function;           // demangled; empty when unknown ("??" in text)
  std::string file;               // empty without line information
  unsigned line = 0;              // 0 without line information
  std::uintptr_t function_offset = 0;  // pc - the function's start (no line information)
  bool has_function_offset = false;
  std::string module;             // the executable or shared object; empty when unknown
  std::uintptr_t module_offset = 0;    // pc - the module's load address
  std::uintptr_t address = 0;     // the return address itself (shown when no module)
};

// The frames of each return address, innermost first, in the order of `pcs`. Runs on a
// thread of its own when called from a task: reading debug info needs more stack than a
// task has (64 KiB by default).
std::vector<std::vector<SourceFrame>> symbolize_all(const std::vector<void*>& pcs);

std::string frame_text(const SourceFrame& frame);
// The fields frame_text wrote (address and has_function_offset only as far as the text
// tells; an unparsable text comes back as its function).
SourceFrame parse_frame_text(std::string_view text);

// Captured return addresses of a snapshot's tasks: task index + a range of `pcs`.
struct RawStacks {
  struct Range {
    std::size_t task_index, begin;
    std::uint32_t depth;
  };
  std::vector<Range> ranges;
  std::vector<void*> pcs;
};

// Sets out[task_index].stack of every range: the user's frames, goro's trimmed off.
void symbolize_stacks(std::vector<TaskInfo>& out, const RawStacks& stacks);

}  // namespace goro::diag::internal
