// diag/src/hooks.cpp — installs diag's hooks into the runtime (detail::install_diag_hooks)
// before main(), in every program that links goro_diag.
//
// A static library member is linked only when something references it, and a program may
// use nothing of diag by name (goro::run and channels only) yet expects diag's reports.
// So goro_diag's link interface (CMakeLists.txt) passes `--undefined=goro_diag_hooks_anchor`
// to the linker: that pulls this file, hence its initializer, into every program linking
// goro_diag, with no --whole-archive. A shared goro_diag is loaded (and this initializer
// run) only if the program records it as needed: the shared build's link interface adds
// --no-as-needed for that. tests/hooks_installed_test.cpp
// checks it on a program that names no diag symbol.
#include "goro/internal/inspect.hpp"
#include "runtime_hooks.hpp"

extern "C" {
// Referenced by the linker flag above, never called.
void goro_diag_hooks_anchor() {}
}

namespace goro::diag::internal {
namespace {

[[maybe_unused]] const bool hooks_installed = [] {
  detail::install_diag_hooks(detail::DiagHooks{
      .live_task_report = &live_task_report,
      .start_trend_sampler = &start_trend_sampler,
      .provable_leak_check = &task_provably_leaked,
  });
  return true;
}();

}  // namespace
}  // namespace goro::diag::internal
