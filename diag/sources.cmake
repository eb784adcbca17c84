target_sources(goro_diag PRIVATE ${CMAKE_CURRENT_LIST_DIR}/src/diag.cpp)
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
