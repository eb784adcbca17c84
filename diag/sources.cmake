target_sources(goro_diag PRIVATE ${CMAKE_CURRENT_LIST_DIR}/src/diag.cpp)
# Captured stacks' names, files and lines: GCC's libbacktrace (src/symbolize.cpp says why).
# It ships inside GCC's own package (libgcc-12-dev), not as a library package, so the
# compiler says where it is; linked by absolute path, which a static goro_diag's exported
# link interface carries as is (no find_dependency needed). Without it: dladdr names only.
target_sources(goro_diag PRIVATE ${CMAKE_CURRENT_LIST_DIR}/src/symbolize.cpp)
execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=libbacktrace.a
                OUTPUT_VARIABLE goro_libbacktrace OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(IS_ABSOLUTE "${goro_libbacktrace}" AND EXISTS "${goro_libbacktrace}")
  get_filename_component(goro_libbacktrace_dir "${goro_libbacktrace}" DIRECTORY)
  find_path(GORO_BACKTRACE_INCLUDE_DIR backtrace.h HINTS ${goro_libbacktrace_dir}/include)
endif()
if(GORO_BACKTRACE_INCLUDE_DIR)
  target_include_directories(goro_diag SYSTEM PRIVATE ${GORO_BACKTRACE_INCLUDE_DIR})
  target_link_libraries(goro_diag PRIVATE "${goro_libbacktrace}")
  target_compile_definitions(goro_diag PRIVATE GORO_HAVE_LIBBACKTRACE=1)
else()
  message(WARNING "goro: GCC's libbacktrace not found (libgcc-12-dev on Debian): captured "
                  "stacks will name only functions in the dynamic symbol table, without lines")
endif()
# Installs the runtime's hooks (always linked: see the top-level CMakeLists.txt).
target_sources(goro_diag PRIVATE ${CMAKE_CURRENT_LIST_DIR}/src/hooks.cpp)
target_sources(goro_diag PRIVATE ${CMAKE_CURRENT_LIST_DIR}/src/counts.cpp)
target_sources(goro_diag PRIVATE ${CMAKE_CURRENT_LIST_DIR}/src/report.cpp)
target_sources(goro_diag PRIVATE ${CMAKE_CURRENT_LIST_DIR}/src/trend.cpp)
target_sources(goro_diag PRIVATE ${CMAKE_CURRENT_LIST_DIR}/src/status_page.cpp)
target_sources(goro_diag PRIVATE ${CMAKE_CURRENT_LIST_DIR}/src/provable.cpp)
# Memory by site (goro/memory.hpp).
target_sources(goro_diag PRIVATE ${CMAKE_CURRENT_LIST_DIR}/src/memory.cpp)
# Prometheus metrics (goro/metrics.hpp).
target_sources(goro_diag PRIVATE ${CMAKE_CURRENT_LIST_DIR}/src/metrics.cpp)
target_sources(goro_diag PRIVATE ${CMAKE_CURRENT_LIST_DIR}/src/leak_count.cpp)
# pprof profiles (goro/profile.hpp): gzip through zlib.
target_sources(goro_diag PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/src/contention_profiles.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/pprof_proto.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/pprof_text.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/profile.cpp)
target_link_libraries(goro_diag PRIVATE ZLIB::ZLIB)
# Dump timing for 100,000 blocked tasks (not built by default):
#   cmake --build <dir> --target goro_dump_bench && <dir>/goro_dump_bench
if(goro_is_top)
  add_executable(goro_dump_bench EXCLUDE_FROM_ALL ${CMAKE_CURRENT_LIST_DIR}/bench/dump_bench.cpp)
  target_link_libraries(goro_dump_bench PRIVATE goro)
  # One /metrics scrape with 100,000 parked tasks: goro_metrics_bench [N]
  add_executable(goro_metrics_bench EXCLUDE_FROM_ALL ${CMAKE_CURRENT_LIST_DIR}/bench/metrics_bench.cpp)
  target_link_libraries(goro_metrics_bench PRIVATE goro)
endif()
