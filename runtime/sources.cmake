# The runtime module (goro_runtime): one source per line, sorted.
target_sources(goro_runtime PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/src/blocking_pool.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/condition_variable.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/deadlock.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/diag_hooks.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/env.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/log.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/mutex_profile.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/netpoll.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/once.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/park.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/record_pool.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/rwmutex.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/scheduler.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/semaphore.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/stack_pool.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/sync.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/timer_heap.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/thread_registry.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/wait_clock.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/wait_record.cpp)
